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
from components.project import DlopsError, Project
from components.settings import FamilySettings
from components.validation.gx_runner import ValidationReport


def path(project: Project, key: str) -> Path:
    return project.data / f"{key}.contract.json"


def read(project: Project, settings: FamilySettings) -> dict[str, Any] | None:
    """The model's contract (`profile`, `data_version`, ...), or None before its first data.

    DlopsError when `data/<key>` holds another model's data (two names, one folder).
    """
    file = path(project, settings.data_key)
    if not file.is_file():
        return None
    document = json.loads(file.read_text())
    owner = (document.get("model_name"), document.get("family"))
    if owner != (settings.model_name, settings.family):
        raise DlopsError(
            f"data/{settings.data_key} holds the data of {owner[0]} ({owner[1]} family), not "
            f"of {settings.model_name}: set another registry.model_name"
        )
    return document


def accepted_profile(
    project: Project, settings: FamilySettings, accept_change: str | None
) -> dict[str, Any] | None:
    """What new data is checked against: the model's contract, unless a change is accepted."""
    if accept_change is not None and not accept_change.strip():
        raise DlopsError("--accept-data-change needs a reason: it is recorded in the ledger")
    document = read(project, settings)  # also when accepting: the folder must be this model's
    return None if accept_change or document is None else document["profile"]


def check(
    project: Project, settings: FamilySettings, folder: Path, accept_change: str | None
) -> ValidationReport:
    """The validation gate: the kind's suite on `folder`, and the model's data contract."""
    from components.validation.validate import validate_folder

    return validate_folder(
        project, settings, folder, accepted_profile(project, settings, accept_change)
    )


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

    The model's first data becomes its contract; with `accept_change` (a reason) a changed
    profile replaces it and the ledger records why and how it changed. Returns those changes
    (none, and no ledger entry, when the profile did not change or this version was already
    accepted).
    """
    from components.registry.promotion import record_data_change

    accepted = read(project, settings)
    if accepted is None:
        write(project, settings, profile, data_version, "the model's first data")
        return []
    if not accept_change or accepted["data_version"] == data_version:  # nothing, or a retry
        return []
    found = changes(accepted, profile)
    if found:  # the ledger first: a failure before the new contract is written loses nothing
        record_data_change(project, settings, data_version, accept_change, found, actor)
        write(project, settings, profile, data_version, accept_change)
    return found
