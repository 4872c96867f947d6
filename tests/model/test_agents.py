"""Behavioural tests of the game agents: PPO learns CartPole far past a random policy in a
few thousand steps, DQN's TD targets train, a seeded run repeats exactly on the CPU, and a run
killed mid-way continues from its last round to the same weights."""

import numpy as np
import pytest
import torch

from components.kinds.game_agent import data
from components.kinds.game_agent import fit as loops
from components.kinds.game_agent.fit import fit_dqn, fit_ppo, validation_return
from components.kinds.game_agent.inference import play, random_policy
from components.models import build_model, model_config_class
from components.runtime.checkpoint import Checkpointer
from components.settings import TrainSettings

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def game(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cartpole")
    data.write_builtin(folder)
    return data.read(folder)


def train(algorithm: str, game, seed: int = 0, checkpoints=None, **config):
    cfg = model_config_class(algorithm).model_validate(config)
    torch.manual_seed(seed)  # initial weights are part of the run, as in the pipeline
    model = build_model(algorithm, cfg.model_dump(), {"observation_size": 4, "n_actions": 2})
    lr = 0.001 if algorithm == "ppo" else 0.0023
    settings = TrainSettings(learning_rate=lr, seed=seed, patience=100, progress=False)
    loop = fit_ppo if algorithm == "ppo" else fit_dqn
    return model, loop(model, game, cfg, settings, CPU, None, checkpoints)


def test_ppo_learns_far_past_a_random_policy(game):
    model, result = train("ppo", game, timesteps=10_240, eval_every=2_560)
    random = np.mean([play(None, game.spec, s, policy=random_policy)[0]
                      for s in game.seeds.validation])  # fmt: skip
    assert validation_return(model, game) > 5 * random
    assert {"train_return", "policy_loss", "value_loss", "entropy", "val_return"} <= set(
        result.history[-1]
    )
    assert result.best_epoch >= 1


def test_dqn_trains_and_keeps_its_best_round(game):
    model, result = train("dqn", game, timesteps=4_096, eval_every=512, learning_starts=512,
                          train_freq=128, gradient_steps=32, hidden_sizes=[64, 64])  # fmt: skip
    best = max(row["val_return"] for row in result.history)
    assert validation_return(model, game) == pytest.approx(best)  # the best round's weights
    assert result.history[0]["epsilon"] > 0.2 and result.history[-1]["epsilon"] == 0.04


def test_a_seeded_run_repeats_on_the_cpu(game):
    first, _ = train("ppo", game, seed=3, timesteps=2_048, eval_every=1_024)
    second, _ = train("ppo", game, seed=3, timesteps=2_048, eval_every=1_024)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


class Crash(Exception):
    """Stands in for the process dying."""


TINY = {
    "ppo": {"timesteps": 3_072, "eval_every": 512},
    "dqn": {"timesteps": 2_048, "eval_every": 256, "learning_starts": 256, "train_freq": 64,
            "gradient_steps": 16, "hidden_sizes": [32, 32], "target_update": 50},
}  # fmt: skip


@pytest.mark.parametrize("algorithm", ["ppo", "dqn"])
def test_a_killed_run_resumes_to_the_same_weights(game, tmp_path, monkeypatch, algorithm):
    reference, ref_result = train(algorithm, game, seed=5, **TINY[algorithm])
    checkpoints = Checkpointer(tmp_path / "ckpt")
    judged = validation_return
    calls = {"n": 0}

    def dies_in_round_4(model, game_):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Crash
        return judged(model, game_)

    monkeypatch.setattr(loops, "validation_return", dies_in_round_4)
    with pytest.raises(Crash):
        train(algorithm, game, seed=5, checkpoints=checkpoints, **TINY[algorithm])
    monkeypatch.setattr(loops, "validation_return", judged)
    assert checkpoints.epoch() == 3  # rounds 1-3 saved; round 4 died, episodes in flight
    torch.manual_seed(999)  # a new process: other random state, other initial weights
    np.random.seed(999)
    resumed, result = train(algorithm, game, seed=5, checkpoints=checkpoints, **TINY[algorithm])
    for a, b in zip(resumed.state_dict().values(), reference.state_dict().values(), strict=True):
        assert torch.equal(a, b)

    def timeless(history):  # NaN (no TD loss before learning starts) as a comparable value
        return [{k: "nan" if v != v else v for k, v in row.items() if k != "seconds"}
                for row in history]  # fmt: skip

    assert timeless(result.history) == timeless(ref_result.history)
    assert len(result.history) == len(ref_result.history) > 4
