"""Ingest: copy a family's source (built-in or the user's) into a staging folder."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from components.project import DlopsError, Project
from components.settings import FamilySettings


STALE_STAGING_S = 24 * 3600  # a staging folder this old is a killed run's leftover


def staging_dir(project: Project, key: str) -> Path:
    """A new folder to stage model `key`'s source in: one per run, never shared by two."""
    base = project.work / "staging"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > STALE_STAGING_S:
            shutil.rmtree(old, ignore_errors=True)
    return base / f"{key}.{os.getpid()}-{secrets.token_hex(3)}"


def unstage(staged: Path) -> None:
    """Remove a staging folder once its files are versioned (or refused, or only fingerprinted)."""
    shutil.rmtree(staged, ignore_errors=True)


def check_source(settings: FamilySettings) -> None:
    """A `csv:`/`folder:` source must exist and be readable; DlopsError naming it otherwise.

    Cheap (no data is read): the CLI calls it before any server or run starts.
    """
    kind, path = settings.data.source_kind, settings.data.source_path
    if kind == "builtin" or path is None:
        return
    if kind == "csv" and not path.is_file():
        raise DlopsError(f"data.source: CSV file not found: {path}")
    if kind == "folder" and not path.is_dir():
        raise DlopsError(f"data.source: folder not found: {path}")
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        raise DlopsError(f"data.source: {path} is not readable")


def stage(project: Project, settings: FamilySettings) -> Path:
    """Write the family's source into a fresh staging folder and return it.

    With the built-in source, `data/<family>` is the family's data: the built-in set is written
    there the first time, and files added to it later (new rows, new images) are taken as they
    are. A `csv:`/`folder:` source is copied in on every run; it becomes its own model's data
    (`data/<family>-<name>`), never the built-in folder. Raw files are copied unedited: the
    validation gate judges them before they become a data version.
    """
    from components.kinds import kind_for

    kind = kind_for(settings.family)
    target = staging_dir(project, settings.data_key)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    source, path = settings.data.source_kind, settings.data.source_path
    if source == "builtin":
        current = project.data / settings.data_key
        if current.is_dir() and any(current.iterdir()):
            shutil.rmtree(target)
            shutil.copytree(current, target)
        else:
            kind.write_builtin(settings.family, target)
        return target
    if source not in kind.sources:
        accepted = ", ".join(f"{k}:PATH" for k in kind.sources)
        raise DlopsError(
            f"data.source: family {settings.family!r} takes builtin or {accepted}, not {source}:"
        )
    check_source(settings)
    if source == "csv":
        shutil.copyfile(path, target / kind.data_file)
    else:
        shutil.rmtree(target)
        shutil.copytree(path, target)
    return target
