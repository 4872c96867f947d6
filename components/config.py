"""Load a family's or the pipeline's settings: YAML, a `--config` overlay, `--set` overrides.

The family's `model:` section is typed by its model's config class, so a bad value fails here,
naming the field, before any data is read or any run starts.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from components.models import model_config_class
from components.project import DlopsError, Project
from components.settings import (
    FamilySettings,
    PipelineSettings,
    describe_errors,
    merge,
    parse_overrides,
    read_yaml,
)


def load_pipeline(project: Project, overlay: Path | None = None) -> PipelineSettings:
    """Load `configs/pipeline.yaml`, with the overlay's `pipeline:` section on top."""
    raw = read_yaml(project.configs / "pipeline.yaml")
    if overlay is not None:
        raw = merge(raw, read_yaml(overlay).get("pipeline", {}))
    try:
        return PipelineSettings.model_validate(raw)
    except ValidationError as exc:
        raise DlopsError(describe_errors(exc, "pipeline")) from None


def load_family(
    project: Project,
    family: str,
    overlay: Path | None = None,
    overrides: list[str] | None = None,
) -> FamilySettings:
    """Resolve a family's settings: its YAML, then the overlay's section, then `--set` pairs."""
    path = project.configs / f"{family}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in project.configs.glob("*.yaml") if p.stem != "pipeline")
        raise DlopsError(f"unknown family {family!r}; known families: {', '.join(known)}")
    raw = read_yaml(path)
    if overlay is not None:
        raw = merge(raw, read_yaml(overlay).get(family, {}))
    raw = merge(raw, parse_overrides(overrides or []))
    raw["family"] = family
    try:
        settings = FamilySettings.model_validate(raw)
        typed_model = model_config_class(family).model_validate(settings.model)
    except ValidationError as exc:
        raise DlopsError(describe_errors(exc, family)) from None
    # Store the model section with its defaults filled in, so the hash covers them too.
    return settings.model_copy(update={"model": typed_model.model_dump(mode="json")})
