"""A model on disk: `weights.safetensors` + `model.json`, its typed card; never unpickled.

The card says how to rebuild the network (family, model config, dimensions) and what the served
model needs (classes, image size, window, ...: the kind's own fields), with the lineage of the
run that trained it. Each kind declares its card class in its `inference` module; a card written
by an earlier version of dlops (no `schema`, `task` for the kind) still loads.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components.project import DlopsError

WEIGHTS = "weights.safetensors"
CARD = "model.json"
SCHEMA = 2  # 1: the untyped cards of dlops before kinds had packages

CARDS: dict[str, type[ModelCard]] = {}
PREDICTORS: dict[str, Callable[..., Any]] = {}  # kind → its inference module's `predict`


class ModelCard(BaseModel):
    """What every kind's card holds; a kind's card class adds its own fields."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    kind_name: ClassVar[str | None] = None

    schema_: int = Field(SCHEMA, alias="schema", description="card format version")
    family: str
    kind: str = Field(description="the task kind, e.g. tabular_classification")
    model: dict[str, Any] = Field(description="the family's model config")
    dims: dict[str, int] = Field(description="data dimensions the network was built for")
    split_digest: str = ""
    best_epoch: int = 0
    lineage: dict[str, str] = Field(default_factory=dict)
    run_id: str = ""
    serving: dict[str, Any] = Field(default_factory=dict)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind_name"):
            if cls.kind_name in CARDS:
                raise ValueError(f"a card class for kind {cls.kind_name!r} is defined twice")
            CARDS[cls.kind_name] = cls

    @model_validator(mode="before")
    @classmethod
    def _earlier_schema(cls, data: Any) -> Any:
        """Cards of schema 1 named the kind `task` and had no `schema` field."""
        if isinstance(data, dict) and "kind" not in data and "task" in data:
            data = {**data, "kind": data["task"], "schema": data.get("schema", 1)}
        return data

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True)


def card_class(kind: str) -> type[ModelCard]:
    """The card class of `kind` (every kind's inference module is imported on first use)."""
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.ispkg:
            importlib.import_module(f"{__package__}.{module.name}.inference")
    if kind not in CARDS:
        raise DlopsError(f"unknown kind {kind!r}; known: {sorted(CARDS)}")
    return CARDS[kind]


def predictor(kind: str) -> Callable:
    """Decorator: the logged model's prediction of `kind` (in its inference module)."""

    def register(function: Callable) -> Callable:
        if kind in PREDICTORS:
            raise ValueError(f"a predictor for kind {kind!r} is defined twice")
        PREDICTORS[kind] = function
        return function

    return register


def predict(model, card: ModelCard, model_input):
    """The prediction of the logged (pyfunc) model: its kind's inference module answers."""
    card_class(card.kind)
    return PREDICTORS[card.kind](model, card, model_input)


def parse_card(raw: dict[str, Any], where: str = "model card") -> ModelCard:
    """A card dict → its kind's typed card; DlopsError naming the field that is wrong."""
    kind = raw.get("kind", raw.get("task")) if isinstance(raw, dict) else None
    if not isinstance(kind, str):
        raise DlopsError(f"{where}: not a dlops model card (no `kind`)")
    if isinstance(raw.get("schema"), int) and raw["schema"] > SCHEMA:
        raise DlopsError(
            f"{where}: card schema {raw['schema']} is newer than this dlops reads ({SCHEMA})"
        )
    try:
        return card_class(kind).model_validate(raw)
    except DlopsError as exc:
        raise DlopsError(f"{where}: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"]) or "card"
        raise DlopsError(f"{where}: {field}: {err['msg']}") from None


def read_card(folder: Path) -> ModelCard:
    """The typed card saved beside the weights in `folder`."""
    path = Path(folder) / CARD
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DlopsError(f"no model card at {path}") from None
    except json.JSONDecodeError as exc:
        raise DlopsError(f"model card {path} is not JSON: {exc}") from None
    return parse_card(raw, f"model card {path}")


def save_model(model, card: ModelCard, folder: Path) -> Path:
    """Write the model's weights and its card into `folder`."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    (folder / CARD).write_text(card.to_json())
    return folder


def load_model(folder: Path, device: str = "cpu"):
    """Rebuild the network from its card and load the weights; returns (model, card)."""
    from safetensors.torch import load_file

    from components.models import build_model

    card = read_card(folder)
    model = build_model(card.family, card.model, card.dims)
    model.load_state_dict(load_file(str(Path(folder) / WEIGHTS), device=device))
    return model.eval(), card


class ClassifierCard(ModelCard):
    """A classifier's card: the label values it predicts, and the names it answers with."""

    classes: list[int | float | str] = Field(
        description="label values, index = the network's output"
    )
    class_names: list[str] | None = Field(None, description="display names, one per class")

    @property
    def names(self) -> list[str]:
        """What a response calls each class: its name, else its label value."""
        return self.class_names or [str(c) for c in self.classes]
