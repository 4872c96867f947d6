"""The game kind's spec, seeds and observation checks, without training."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.kinds.game_agent import data, inference
from components.kinds.game_agent.environment import EnvironmentSpec, reward_threshold


def card() -> inference.AgentCard:
    return inference.AgentCard(
        family="ppo", kind=inference.KIND, model={}, dims={}, environment={"id": "CartPole-v1"},
        observation_size=4, n_actions=2, low=[-4.8, None, -0.42, None],
        high=[4.8, None, 0.42, None], reward_threshold=475.0,
    )  # fmt: skip


def test_observations_are_checked_against_the_space():
    assert inference.check_observations([[0.0, 1.0, 0.1, -2.0]], card()).shape == (1, 4)
    assert inference.check_observations([0.0, 1.0, 0.1, -2.0], card()).shape == (1, 4)
    for bad, said in (
        ([[0.0, 1.0, 0.1]], "shape [1, 3], expected [n, 4]"),
        ([[9.0, 0.0, 0.0, 0.0]], "observations[0][0]: 9.0 is outside the observation space"),
        ([[0.0, 0.0, 0.0, float("nan")]], "observations[0][3]: nan is not a finite number"),
        ([["a", 0, 0, 0]], "expected a list of lists of numbers"),
        ([], "shape"),
    ):
        with pytest.raises(ValueError, match=said.replace("[", r"\[").replace("]", r"\]")):
            inference.check_observations(bad, card())


def test_builtin_game_reads_back_and_seeds_are_disjoint(tmp_path):
    data.write_builtin(tmp_path)
    game = data.read(tmp_path)
    assert game.spec.id == "CartPole-v1" and len(game.seeds.test) == 50
    training = range(game.seeds.train.start, game.seeds.train.start + game.seeds.train.count)
    assert not set(game.seeds.validation + game.seeds.test) & set(training)
    assert reward_threshold(game.spec) == 475.0


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ('{"id": 3}', "environment.json: id: Input should be a valid string"),
        ('{"id": "CartPole-v1", "rewards": {}}', "environment.json: rewards: Extra inputs"),
        ("not json", "environment.json: (the file): Invalid JSON"),
    ],
)
def test_a_broken_spec_is_named(tmp_path, spec, said):
    data.write_builtin(tmp_path)
    (tmp_path / "environment.json").write_text(spec)
    with pytest.raises(data.GameError, match=said.replace("(", r"\(").replace(")", r"\)")):
        data.read(tmp_path)


def test_reward_shaping_scales_the_return_and_clears_the_threshold(tmp_path):
    plain = EnvironmentSpec(id="CartPole-v1")
    shaped = EnvironmentSpec.model_validate({"id": "CartPole-v1", "reward": {"scale": 0.5}})
    first = inference.play(None, plain, 3, policy=inference.random_policy)
    second = inference.play(None, shaped, 3, policy=inference.random_policy)
    assert second[1] == first[1] and second[0] == pytest.approx(first[0] / 2)
    assert reward_threshold(shaped) is None  # the id's threshold is for its own rewards
    assert json.loads(shaped.model_dump_json())["reward"]["scale"] == 0.5


def test_a_seeded_random_episode_repeats():
    spec = EnvironmentSpec(id="CartPole-v1")
    runs = [inference.play(None, spec, 11, policy=inference.random_policy)[:2] for _ in range(2)]
    assert runs[0] == runs[1]
    assert np.isfinite(runs[0][0])
