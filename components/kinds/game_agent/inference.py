"""The agent's card and play: observations → actions; one seeded episode → its return.

The card carries the environment spec and the observation space's bounds, so the service
checks what it is sent against the space the agent learned on, and plays the same game.
Pure torch/numpy/gymnasium: the MLflow model and the BentoML service both call this.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from components.kinds.card import ModelCard, predictor
from components.kinds.game_agent.environment import EnvironmentSpec, make

KIND = "game_agent"
MAX_FRAMES = 600  # frames kept of a rendered episode


class AgentCard(ModelCard):
    """The agent's card: the game it plays and the observations it accepts."""

    kind_name = KIND

    environment: dict[str, Any] = Field(description="the EnvironmentSpec trained on")
    observation_size: int
    n_actions: int
    low: list[float | None] = Field(description="the observation space's lower bounds")
    high: list[float | None] = Field(description="its upper bounds (None: unbounded)")
    reward_threshold: float | None = None

    @property
    def spec(self) -> EnvironmentSpec:
        return EnvironmentSpec.model_validate(self.environment)


def check_observations(observations: Any, card: AgentCard) -> np.ndarray:
    """Observations as (N, size) float32; ValueError naming the first one that does not fit."""
    try:
        x = np.asarray(observations, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("observations: expected a list of lists of numbers") from None
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != card.observation_size or len(x) == 0:
        raise ValueError(f"observations: shape {list(x.shape)}, expected "
                         f"[n, {card.observation_size}]")  # fmt: skip
    for i, row in enumerate(x):
        for j, value in enumerate(row):
            low, high = card.low[j], card.high[j]
            if not np.isfinite(value):
                raise ValueError(f"observations[{i}][{j}]: {value} is not a finite number")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"observations[{i}][{j}]: {value} is outside the observation "
                                 f"space [{low}, {high}]")  # fmt: skip
    return x.astype(np.float32)


@torch.inference_mode()
def act(model, observations: np.ndarray, deterministic: bool = True,
        seed: int | None = None) -> np.ndarray:  # fmt: skip
    """An action per observation (N,), greedy or sampled.

    Greedy: the argmax of policy logits or Q-values. Sampled: from a policy's distribution
    (ValueError for a value-based agent).
    """
    model.eval()
    device = next(model.parameters()).device
    output = model(torch.as_tensor(observations, device=device))
    if deterministic:
        return output.argmax(dim=1).cpu().numpy()
    if getattr(model, "algorithm", None) != "ppo":
        raise ValueError("deterministic: a value-based agent acts greedily only")
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**31))
    probabilities = torch.softmax(output, dim=1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(1).cpu().numpy()


def play(model, spec: EnvironmentSpec, seed: int, render: bool = False,
         policy=None, seen: list | None = None) -> tuple[float, int, list[np.ndarray]]:  # fmt: skip
    """One episode from `seed`: its return, its length and (rendering) its frames.

    `policy(observation) -> action` replaces the model's greedy action (a random baseline);
    `seen` collects every observation acted on.
    """
    env = make(spec, render=render)
    observation, _ = env.reset(seed=int(seed))
    env.action_space.seed(int(seed))
    total, steps, frames = 0.0, 0, []
    while True:
        if render and len(frames) < MAX_FRAMES:
            frames.append(env.render())
        if seen is not None:
            seen.append(np.asarray(observation, dtype=np.float32))
        if policy is None:
            action = int(act(model, np.asarray(observation, dtype=np.float32)[None])[0])
        else:
            action = policy(env, observation)
        observation, reward, terminated, truncated, _ = env.step(action)
        total, steps = total + float(reward), steps + 1
        if terminated or truncated:
            break
    env.close()
    return total, steps, frames


def logged(card: AgentCard, x: np.ndarray) -> dict[str, np.ndarray]:
    """Observations as the served-input log keeps them: columns o0, o1, ... (the model's)."""
    return {f"o{j}": x[:, j] for j in range(card.observation_size)}


def random_policy(env, observation) -> int:
    """The baseline: a uniformly random action (the action space is seeded per episode)."""
    return int(env.action_space.sample())


@predictor(KIND)
def predict_frame(model, card: AgentCard, model_input):
    """The MLflow model: one observation per row (columns o0, o1, ...) → its greedy action."""
    import pandas as pd

    x = check_observations(model_input.to_numpy(dtype=np.float64), card)
    return pd.DataFrame({"action": act(model, x).astype(np.int64)})


def describe(card) -> dict:
    """What the service's `/metadata` says of a model besides its lineage."""
    return {
        "environment": card.environment,
        "observation_size": card.observation_size,
        "n_actions": card.n_actions,
        "low": card.low,
        "high": card.high,
        "reward_threshold": card.reward_threshold,
    }
