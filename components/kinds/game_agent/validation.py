"""The game suite: the environment, its spaces and the evaluation seeds.

The environment is made and passes gymnasium's checker, its spaces are what the agents take (a
flat Box of observations, a Discrete set of actions), and the evaluation seeds are distinct and
outside the training seed range.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds.base import Suite
from components.kinds.game_agent.data import GameError, read
from components.kinds.game_agent.environment import make
from components.settings import FamilySettings


def environment_row(spec) -> dict:
    """What validation needs of the environment; `makes` False when gymnasium cannot make it."""
    import warnings

    import gymnasium as gym

    row = {"id": spec.id, "makes": False, "checker": False, "problem": "", "flat_box": False,
           "discrete": False, "observation_size": 0, "n_actions": 0}  # fmt: skip
    try:
        env = make(spec)
    except Exception as exc:  # an unknown id, bad kwargs, a missing extra: the data's fault
        return {**row, "problem": f"{type(exc).__name__}: {exc}"[:300]}
    row["makes"] = True
    try:
        from gymnasium.utils.env_checker import check_env

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # infinite Box bounds are legal (CartPole has them)
            check_env(env.unwrapped, skip_render_check=True)
        row["checker"] = True
    except Exception as exc:
        row["problem"] = f"check_env: {type(exc).__name__}: {exc}"[:300]
    observations, actions = env.observation_space, env.action_space
    if isinstance(observations, gym.spaces.Box) and len(observations.shape) == 1:
        row.update(flat_box=True, observation_size=int(observations.shape[0]))
    if isinstance(actions, gym.spaces.Discrete):
        row.update(discrete=True, n_actions=int(actions.n))
    env.close()
    return row


def build_expectations(settings: FamilySettings) -> dict[str, list]:
    import great_expectations.expectations as gxe

    return {
        "environment": [
            gxe.ExpectColumnValuesToBeInSet(column="makes", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="checker", value_set=[True]),
            # the agents read a flat vector and choose one of n actions
            gxe.ExpectColumnValuesToBeInSet(column="flat_box", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="discrete", value_set=[True]),
        ],
        "seeds": [
            gxe.ExpectTableRowCountToBeBetween(min_value=settings.data.min_rows),
            gxe.ExpectColumnValuesToBeUnique(column="seed"),
            # an exam seed met in training would grade memory, not play
            gxe.ExpectColumnValuesToBeInSet(column="in_training_range", value_set=[False]),
        ],
    }


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The game suite for `folder`; never raises on bad data."""
    try:
        game = read(folder)
    except GameError as exc:
        return Suite(problem=f"expect_game_files_to_be_valid: {exc}")
    start, end = game.seeds.train.start, game.seeds.train.start + game.seeds.train.count
    listed = [(s, "validation") for s in game.seeds.validation]
    listed += [(s, "test") for s in game.seeds.test]
    seeds = pd.DataFrame(listed, columns=["seed", "part"])
    seeds["in_training_range"] = (seeds["seed"] >= start) & (seeds["seed"] < end)
    environment = pd.DataFrame([environment_row(game.spec)])
    expectations = build_expectations(settings)
    failures = [f"expect_environment_to_be_made: {environment['problem'][0]}"] if (
        environment["problem"][0]) else []  # fmt: skip
    return Suite(
        tables={
            "environment": (environment, expectations["environment"]),
            "seeds": (seeds, expectations["seeds"]),
        },  # fmt: skip
        stats={"validation_seeds": len(game.seeds.validation), "test_seeds": len(game.seeds.test)},
        failures=failures,
    )


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """The spaces the model accepted."""
    row = suite.tables["environment"][0].iloc[0]
    return {"observation_size": int(row["observation_size"]), "n_actions": int(row["n_actions"]),
            "rows": int(np.int64(len(suite.tables["seeds"][0])))}  # fmt: skip


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """The same observation size and number of actions as the accepted game."""
    import great_expectations.expectations as gxe

    frame, rules = suite.tables["environment"]
    added = [
        gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[accepted[c]])
        for c in ("observation_size", "n_actions")
    ]
    return replace(suite, tables={**suite.tables, "environment": (frame, [*rules, *added])})
