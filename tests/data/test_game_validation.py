"""The game suite: broken specs and seeds fail by column; the built-in game passes."""

from __future__ import annotations

import json

import pytest

from components.kinds.game_agent import data

SETTINGS = {"family": "ppo", "data": {"source": "folder:x", "min_rows": 10}}


def _unknown_id(folder):
    (folder / "environment.json").write_text('{"id": "NoSuchGame-v9"}')


def _continuous_actions(folder):
    (folder / "environment.json").write_text('{"id": "Pendulum-v1"}')


def _seed_in_training(folder):
    seeds = json.loads((folder / "seeds.json").read_text())
    seeds["test"][0] = 5  # inside the training range [0, 1,000,000)
    (folder / "seeds.json").write_text(json.dumps(seeds))


def _seed_twice(folder):
    seeds = json.loads((folder / "seeds.json").read_text())
    seeds["test"][1] = seeds["validation"][0]
    (folder / "seeds.json").write_text(json.dumps(seeds))


CORRUPT = {
    "unknown environment id": (_unknown_id, "makes"),
    "continuous actions": (_continuous_actions, "discrete"),
    "an exam seed inside the training range": (_seed_in_training, "in_training_range"),
    "a seed listed twice": (_seed_twice, "seed"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_broken_games_are_refused_by_column(case, project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.gx_runner import summarise
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate(SETTINGS)
    data.write_builtin(tmp_path)
    corrupt, column = CORRUPT[case]
    corrupt(tmp_path)
    report = validate_folder(project, settings, tmp_path)
    assert not report.success
    assert f"column '{column}'" in "\n".join(summarise(report.failures))


def test_the_builtin_game_passes_and_missing_seeds_are_named(project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate(SETTINGS)
    data.write_builtin(tmp_path)
    assert validate_folder(project, settings, tmp_path).success
    (tmp_path / "seeds.json").unlink()
    report = validate_folder(project, settings, tmp_path)
    assert not report.success and "seeds.json is missing" in report.failures[0]
