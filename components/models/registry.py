"""Family name → model builder and its typed config: a dict and a decorator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class FamilySpec:
    """How to build one family's network from its config and the data's dimensions."""

    name: str
    config_cls: type[BaseModel]
    build: Callable[..., Any]
    kind: str  # the task kind, a key of components.kinds.kinds()


FAMILIES: dict[str, FamilySpec] = {}


def register_family(name: str, config_cls: type[BaseModel], kind: str) -> Callable:
    """Decorator: register `build(config, **dims) -> nn.Module` under a family name."""

    def decorate(build: Callable) -> Callable:
        if name in FAMILIES:
            raise ValueError(f"model family {name!r} is registered twice")
        FAMILIES[name] = FamilySpec(name, config_cls, build, kind)
        return build

    return decorate
