"""The model's current data version, split as its kind splits it: what training and the gate score on."""

from __future__ import annotations

from components.data.versioning import model_files
from components.kinds import kind_for
from components.kinds.base import Split
from components.project import Project
from components.settings import FamilySettings


def load_split(project: Project, settings: FamilySettings) -> Split:
    """The model's current data (`data/<key>`), split by the configured seed."""
    return kind_for(settings.family).load_split(model_files(project, settings.data_key), settings)
