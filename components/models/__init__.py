"""Model families: one file each, registered by name (see `registry.py`)."""

from __future__ import annotations

from typing import Any

from components.models.registry import FAMILIES, FamilySpec, register_family

_NOT_FAMILIES = {"registry"}


def _load_families() -> None:
    """Import every model file here: each registers its family (torch is imported here)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name not in _NOT_FAMILIES:
            importlib.import_module(f"{__name__}.{module.name}")


def family_spec(family: str) -> FamilySpec:
    """The registered spec of `family`, or a KeyError naming the known ones."""
    _load_families()
    try:
        return FAMILIES[family]
    except KeyError:
        known = sorted(FAMILIES)
        raise KeyError(f"no model registered for family {family!r}; known: {known}") from None


def model_config_class(family: str):
    """The pydantic config class of `family`'s model."""
    return family_spec(family).config_cls


def build_model(family: str, config: dict[str, Any], dims: dict[str, int]):
    """Build `family`'s network from its config dict and the data's dimensions."""
    spec = family_spec(family)
    return spec.build(spec.config_cls.model_validate(config), **dims)


__all__ = [
    "FAMILIES",
    "FamilySpec",
    "build_model",
    "family_spec",
    "model_config_class",
    "register_family",
]
