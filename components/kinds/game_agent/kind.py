"""The game-agent kind: an environment spec and seeds → an agent, judged by its return.

Where the chain's assumptions change: the "data" is the game (environment spec + seeds), not
examples; the split is by seeds (training episodes from a range, validation and test seeds
listed and fixed); an agent learns from playing, so training is the kind's own loop; the test
metric is the mean return over the test seeds, beside a random policy's on the same seeds and
the environment's reward threshold.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds import memo
from components.kinds.base import Kind, Split, sample_rows
from components.kinds.game_agent import data, inference, validation
from components.kinds.game_agent import fit as training
from components.kinds.game_agent.environment import reward_threshold
from components.runtime.datasets import ArrayDataset

RANDOM = "a random policy (uniform actions) on the same seeds"


def _bound(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def test_returns(model, card, seeds: list[int]) -> np.ndarray:
    """The greedy agent's return per test seed."""
    spec = card.spec

    def returns() -> np.ndarray:
        return np.array([inference.play(model, spec, s)[0] for s in seeds])

    return memo.outputs(model, card, seeds, returns)


class GameAgent(Kind):
    """Agents (PPO, DQN) for gymnasium games with a flat observation and discrete actions."""

    name = inference.KIND
    sources = ("folder",)
    card = inference.AgentCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_builtin(folder)

    def load_split(self, folder: Path, settings) -> Split:
        from components.kinds.game_agent.environment import make

        game = data.read(folder)
        env = make(game.spec)
        space = env.observation_space
        info = {
            "environment": game.spec.model_dump(),
            "observation_size": int(space.shape[0]),
            "n_actions": int(env.action_space.n),
            "low": [_bound(v) for v in space.low],
            "high": [_bound(v) for v in space.high],
            "reward_threshold": reward_threshold(game.spec),
            "game": game,  # data, not the model: the card ignores it
            "stop_return": settings.model.get("stop_return"),
        }
        env.close()
        parts = {
            "train": np.arange(
                game.seeds.train.start, game.seeds.train.start + game.seeds.train.count
            ),  # fmt: skip
            "validation": np.asarray(game.seeds.validation),
            "test": np.asarray(game.seeds.test),
        }
        digest = hashlib.sha256(data.describe(folder).encode()).hexdigest()[:12]
        return Split(
            data={part: ArrayDataset(seeds, np.zeros(len(seeds))) for part, seeds in parts.items()},
            dims={"observation_size": info["observation_size"], "n_actions": info["n_actions"]},
            info=info,
            digest=digest,
            params={"env.id": game.spec.id, "env.test_seeds": str(len(game.seeds.test))},
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def _seeds(self, split: Split) -> list[int]:
        return [int(s) for s in split.arrays("test")[0]]

    def score(self, model, card, split: Split) -> dict[str, float]:
        seeds = self._seeds(split)
        returns = test_returns(model, card, seeds)
        spec = card.spec
        random = [inference.play(None, spec, s, policy=inference.random_policy)[0] for s in seeds]
        metrics = {
            "test_return": float(returns.mean()),
            "test_return_std": float(returns.std()),
            "test_return_min": float(returns.min()),
            "test_random_return": float(np.mean(random)),
        }
        if card.reward_threshold is not None:
            metrics["test_reward_threshold"] = float(card.reward_threshold)
        return metrics

    def paired_outcomes(self, model, card, split: Split, metric: str):
        """Per test seed: the agent's return (the gate resamples seeds, both agents on each)."""
        from components.runtime.stats import Outcomes

        if metric != "test_return":
            return None
        returns = test_returns(model, card, self._seeds(split))
        return Outcomes(returns.astype(np.float64), np.ones(len(returns)))

    def baseline_outcomes(self, split: Split, metric: str):
        from components.kinds.game_agent.environment import EnvironmentSpec
        from components.runtime.stats import Outcomes

        if metric != "test_return":
            return None
        spec = EnvironmentSpec.model_validate(split.info["environment"])
        random = [inference.play(None, spec, s, policy=inference.random_policy)[0]
                  for s in self._seeds(split)]  # fmt: skip
        return Outcomes(np.asarray(random, dtype=np.float64), np.ones(len(random)), name=RANDOM)

    def plots(self, model, card, split: Split, history: list, folder: Path) -> list[Path]:
        from components.kinds.game_agent.plots import plot_episode, plot_learning_curve

        seed = self._seeds(split)[0]
        _, _, frames = inference.play(model, card.spec, seed, render=True)
        return [
            plot_learning_curve(
                history, card.best_epoch, card.reward_threshold, folder / "learning_curve.png"
            ),  # fmt: skip
            plot_episode(frames, folder / "episode.gif"),
        ]

    def example(self, split: Split) -> pd.DataFrame:
        from components.kinds.game_agent.environment import EnvironmentSpec, make

        env = make(EnvironmentSpec.model_validate(split.info["environment"]))
        observation, _ = env.reset(seed=int(self._seeds(split)[0]))
        env.close()
        return pd.DataFrame([np.asarray(observation, dtype=np.float64)],
                            columns=[f"o{i}" for i in range(len(observation))])  # fmt: skip

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        return pd.DataFrame({"game": [data.describe(folder)]})

    def verdict(self, metrics: dict[str, float]) -> str | None:
        if "test_return" not in metrics:
            return None
        said = (f"mean return {metrics['test_return']:.1f} over the test seeds; {RANDOM}: "
                f"{metrics.get('test_random_return', float('nan')):.1f}")  # fmt: skip
        threshold = metrics.get("test_reward_threshold")
        if threshold is not None:
            solved = metrics["test_return"] >= threshold
            said += f"; solved at {threshold:g}: {'yes' if solved else 'no'}"
        return said

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        """The observations the agent met playing its validation seeds (its training data)."""
        seen: list[np.ndarray] = []
        for seed in split.arrays("validation")[0]:
            inference.play(model, card.spec, int(seed), seen=seen)
        x = np.stack(seen)
        return inference.logged(card, x[sample_rows(len(x), limit)])

    def drift_features(self, model, card, frame: pd.DataFrame) -> pd.DataFrame:
        """Each observation component on its own (the distribution of states met)."""
        return frame[[f"o{j}" for j in range(card.observation_size)]].astype(np.float64)
