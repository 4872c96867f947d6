"""The model's current data version, split as its kind splits it: what training and the gate use."""

from __future__ import annotations

from components.data.versioning import model_files
from components.kinds import kind_for
from components.kinds.base import Split
from components.project import Project
from components.settings import FamilySettings


def load_split(
    project: Project, settings: FamilySettings, data_version: str | None = None
) -> Split:
    """The model's current data (`data/<key>`), split by the configured seed.

    `data_version`: the data to restore when this checkout has none of the model's own.
    """
    folder = model_files(project, settings.data_key, data_version)
    return kind_for(settings.family).load_split(folder, settings)
