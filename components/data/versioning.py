"""DVC versioning of `data/`: the md5 in `data.dvc` is the data version."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.project import DlopsError, Project


@dataclass(frozen=True)
class DataStatus:
    """The committed data version and whether the work tree still matches it."""

    version: str | None
    clean: bool
    changes: list[str]


def current_version(project: Project) -> str | None:
    """The md5 recorded in `data.dvc`, or None before the first ingest."""
    if not project.data_pointer.exists():
        return None
    pointer = yaml.safe_load(project.data_pointer.read_text()) or {}
    outs = pointer.get("outs") or [{}]
    return outs[0].get("md5")


def _repo(project: Project):
    from dvc.repo import Repo

    if not (project.root / ".dvc").is_dir():
        # A project folder outside git (tests, a copied template) gets its own DVC repo.
        Repo.init(str(project.root), no_scm=not (project.root / ".git").exists())
    repo = Repo(str(project.root))
    repo.scm_context.quiet = True  # no "To track the changes with git" hints mid-pipeline
    return repo


def _lock(project: Project):
    from filelock import FileLock

    project.work.mkdir(parents=True, exist_ok=True)
    return FileLock(str(project.work / "data.lock"), timeout=600)


def commit(project: Project, family: str, staged: Path, push: bool = True) -> str:
    """Move a validated staging folder into `data/<family>`, `dvc add` and push; return the md5.

    `data.dvc` moves last: if anything fails before, the previous version stays in force.
    Committing the same files again is a no-op that returns the same version.
    """
    final = project.data / family
    with _lock(project):
        project.data.mkdir(exist_ok=True)
        backup = project.work / "staging" / f".{family}.previous"
        shutil.rmtree(backup, ignore_errors=True)
        if final.exists():
            final.rename(backup)
        pointer = project.data_pointer.read_text() if project.data_pointer.exists() else None
        shutil.copytree(staged, final)
        try:
            with _repo(project) as repo:
                repo.add(str(project.data))
                if push:
                    repo.push(targets=[str(project.data_pointer)])
        except Exception as exc:
            shutil.rmtree(final, ignore_errors=True)
            if backup.exists():
                backup.rename(final)
            if pointer is not None:
                project.data_pointer.write_text(pointer)
            raise DlopsError(f"DVC could not version data/{family}: {exc}") from exc
        shutil.rmtree(backup, ignore_errors=True)
    version = current_version(project)
    assert version is not None
    return version


def status(project: Project) -> DataStatus:
    """Compare the work tree's `data/` with `data.dvc`."""
    version = current_version(project)
    if version is None:
        return DataStatus(None, False, ["data.dvc does not exist yet: run `dlops data ingest`"])
    with _repo(project) as repo:
        report = repo.status(targets=[str(project.data_pointer)])
    changes = [f"{target}: {change}" for target, items in report.items() for change in items]
    return DataStatus(version, not report, changes)


def family_files(project: Project, family: str) -> Path:
    """The family's folder in the current data version, checked to exist."""
    folder = project.data / family
    if not folder.is_dir():
        raise DlopsError(f"data/{family} does not exist: run `dlops data ingest` first")
    return folder
