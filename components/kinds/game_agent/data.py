"""A game's "data": its environment spec and the seeds of training, validation and the exam.

`environment.json` is an `EnvironmentSpec`; `seeds.json` holds the training seed range (each
training episode starts from the next seed in it) and the fixed validation and test
(evaluation) seeds, disjoint from it. Both are versioned by DVC: the same files are the same
task and the same exam. Torch-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.kinds.game_agent.environment import SPEC_FILE, EnvironmentSpec

SEEDS_FILE = "seeds.json"
BUILTIN = EnvironmentSpec(id="CartPole-v1")


class TrainingSeeds(BaseModel):
    """The seeds training episodes start from, in order: [start, start + count)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(0, ge=0)
    count: int = Field(1_000_000, ge=1)


class Seeds(BaseModel):
    """Training episodes draw seeds from [start, start + count); evaluation seeds are listed."""

    model_config = ConfigDict(extra="forbid")

    train: TrainingSeeds = TrainingSeeds()
    validation: list[int] = Field(min_length=1)
    test: list[int] = Field(min_length=1)


@dataclass(frozen=True)
class Game:
    """A folder's game: its environment spec and its seeds."""

    spec: EnvironmentSpec
    seeds: Seeds


class GameError(ValueError):
    """The folder's spec or seeds cannot be read; the message names the file and the field."""


def write_builtin(folder: Path, spec: EnvironmentSpec = BUILTIN) -> None:
    """CartPole-v1 as gymnasium ships it; 10 validation and 50 test seeds above training's."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = Seeds(validation=list(range(1_000_000, 1_000_010)),
                  test=list(range(2_000_000, 2_000_050)))  # fmt: skip
    (folder / SPEC_FILE).write_text(spec.model_dump_json(indent=2) + "\n")
    (folder / SEEDS_FILE).write_text(seeds.model_dump_json(indent=2) + "\n")


def _load(path: Path, model: type[BaseModel]):
    if not path.is_file():
        raise GameError(f"{path.name} is missing")
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(the file)"
        raise GameError(f"{path.name}: {where}: {first['msg']}") from None


def read(folder: Path) -> Game:
    """The folder's game; GameError naming what is wrong."""
    return Game(_load(folder / SPEC_FILE, EnvironmentSpec), _load(folder / SEEDS_FILE, Seeds))


def describe(folder: Path) -> str:
    """The spec and seeds as one line of JSON (the run's dataset table)."""
    game = read(folder)
    return json.dumps({"spec": game.spec.model_dump(), "seeds": game.seeds.model_dump()})
