"""Data contracts: the profile of the data a model first accepted, beside its DVC pointer.

`data/<key>.contract.json` (committed with `data/<key>.dvc`) holds the kind's profile of the
model's first accepted data version. Every later version of that model's data is validated
against it in the same GX gate; a changed contract is accepted on purpose only
(`dlops run --accept-data-change REASON`), recorded in the ledger with the profiles' diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.kinds.profile import differences
from components.project import Project
from components.settings import FamilySettings


def path(project: Project, key: str) -> Path:
    return project.data / f"{key}.contract.json"


def read(project: Project, settings: FamilySettings) -> dict[str, Any] | None:
    """The model's contract (`profile`, `data_version`, ...), or None before its first data."""
    file = path(project, settings.data_key)
    return json.loads(file.read_text()) if file.is_file() else None


def write(
    project: Project,
    settings: FamilySettings,
    profile: dict[str, Any],
    data_version: str,
    reason: str,
) -> Path:
    """Store `profile` as the model's contract, accepted with `data_version` (atomic)."""
    file = path(project, settings.data_key)
    file.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "model_name": settings.model_name,
        "family": settings.family,
        "data_version": data_version,
        "accepted": reason,
        "profile": profile,
    }
    partial = file.with_suffix(".partial")
    partial.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    partial.replace(file)
    return file


def changes(accepted: dict[str, Any] | None, profile: dict[str, Any]) -> list[str]:
    """How `profile` differs from the accepted contract's (every field, one line each)."""
    return [] if accepted is None else differences(accepted["profile"], profile)


def keep(
    project: Project,
    settings: FamilySettings,
    profile: dict[str, Any],
    data_version: str,
    accept_change: str | None,
    actor: str,
) -> list[str]:
    """After a data version is committed: keep, start or replace the model's contract.

    The model's first data becomes its contract; with `accept_change` (a reason) the new
    profile replaces it and the ledger records why and how the profile changed. Returns those
    changes.
    """
    from components.registry.promotion import record_data_change

    accepted = read(project, settings)
    if accepted is None:
        write(project, settings, profile, data_version, "the model's first data")
        return []
    if not accept_change:
        return []
    found = changes(accepted, profile)
    write(project, settings, profile, data_version, accept_change)
    record_data_change(project, settings, data_version, accept_change, found, actor)
    return found
