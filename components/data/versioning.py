"""DVC versioning, one output per registered model: `data/<key>` with its pointer `data/<key>.dvc`.

The md5 in a model's pointer is that model's data version: it names exactly the files the model
was trained on, and `git checkout <commit> && dvc checkout data/<key>.dvc` restores them.
Built-in data sets live in `data/<family>`; a user's own data set in `data/<family>-<name>`.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.project import DlopsError, Project

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataStatus:
    """One model's committed data version and whether its folder still matches it."""

    key: str
    version: str | None
    clean: bool
    changes: list[str]


def pointer(project: Project, key: str) -> Path:
    """The DVC file of `data/<key>`."""
    return project.data / f"{key}.dvc"


def keys(project: Project) -> list[str]:
    """Every versioned data folder of the project (one per registered model)."""
    return sorted(p.stem for p in project.data.glob("*.dvc")) if project.data.is_dir() else []


def current_version(project: Project, key: str) -> str | None:
    """The md5 recorded in `data/<key>.dvc`, or None before the folder's first version."""
    path = pointer(project, key)
    if not path.exists():
        return None
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
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


def _retire_whole_folder_pointer(project: Project) -> None:
    """Projects from before per-model outputs tracked all of `data/` in `data.dvc`: retire it.

    The folders and the cache stay; each model's folder gets its own pointer when next versioned.
    """
    legacy = project.root / "data.dvc"
    if legacy.exists():
        legacy.unlink()
        ignore = project.root / ".gitignore"
        if ignore.exists():  # data/<key>.dvc must not be git-ignored; the folders still are
            lines = ignore.read_text().splitlines()
            ignore.write_text("".join(f"{ln}\n" for ln in lines if ln.strip() != "/data"))
        if project.data.is_dir():
            folders = sorted(p.name for p in project.data.iterdir() if p.is_dir())
            (project.data / ".gitignore").write_text("".join(f"/{n}\n" for n in folders))
        log.warning("data.dvc retired: each model's data now has its own data/<name>.dvc")


def commit(project: Project, key: str, staged: Path, push: bool = True) -> str:
    """Move a validated staging folder into `data/<key>`, `dvc add` and push; return the md5.

    `data/<key>.dvc` moves last: if anything fails before, the previous version stays in force.
    Committing the same files again is a no-op that returns the same version. Other models'
    folders and pointers are never touched.
    """
    final, dvc_file = project.data / key, pointer(project, key)
    with _lock(project):
        _retire_whole_folder_pointer(project)
        project.data.mkdir(exist_ok=True)
        backup = project.work / "staging" / f".{key}.previous"
        shutil.rmtree(backup, ignore_errors=True)
        if final.exists():
            final.rename(backup)
        previous = dvc_file.read_text() if dvc_file.exists() else None
        shutil.copytree(staged, final)
        try:
            with _repo(project) as repo:
                repo.add(str(final))
                if push:
                    repo.push(targets=[str(dvc_file)])
        except Exception as exc:
            shutil.rmtree(final, ignore_errors=True)
            if backup.exists():
                backup.rename(final)
            if previous is not None:
                dvc_file.write_text(previous)
            else:
                dvc_file.unlink(missing_ok=True)
            raise DlopsError(f"DVC could not version data/{key}: {exc}") from exc
        shutil.rmtree(backup, ignore_errors=True)
    version = current_version(project, key)
    assert version is not None
    return version


def status(project: Project) -> list[DataStatus]:
    """Compare each versioned folder of `data/` with its pointer."""
    found = keys(project)
    if not found:
        return []
    with _repo(project) as repo:
        report = repo.status(targets=[str(pointer(project, key)) for key in found])
    states = []
    for key in found:
        changes = [
            f"{target}: {change}"
            for target, items in report.items()
            if Path(target).name == f"{key}.dvc"  # relative to the working directory
            for change in items
        ]
        states.append(DataStatus(key, current_version(project, key), not changes, changes))
    return states


def model_files(project: Project, key: str) -> Path:
    """The model's data folder `data/<key>` in its current data version, checked to exist."""
    folder = project.data / key
    if not folder.is_dir():
        raise DlopsError(f"data/{key} does not exist: run `dlops data ingest` first")
    return folder


def _object_stores(project: Project) -> list[Path]:
    """Folders DVC objects may be read from: the local cache, then remotes on a local path."""
    from dvc.repo import Repo

    if not (project.root / ".dvc").is_dir():
        raise DlopsError(f"{project.root} is not a DVC project: nothing to restore from")
    with Repo(str(project.root)) as repo:
        probe = Path(repo.cache.local.oid_to_path("00" * 16))
        stores = [probe.parent.parent]  # .../files/md5
        for remote in (repo.config.get("remote") or {}).values():
            url = str(remote.get("url", ""))
            if url and "://" not in url:
                base = Path(url).expanduser()
                if not base.is_absolute():
                    base = project.root / ".dvc" / base
                stores.append(base / "files" / "md5")
    return stores


def restore(project: Project, version: str, destination: Path) -> int:
    """Write the files of data version `version` (a `.dir` md5) into `destination`.

    Read from DVC's local cache, or from a remote on a local path; for a cloud remote
    `dvc pull` the model's `.dvc` file at its commit first. Returns the number of files.
    """
    import json

    stores = _object_stores(project)

    def find(md5: str) -> Path:
        for store in stores:
            if (path := store / md5[:2] / md5[2:]).is_file():
                return path
        raise DlopsError(
            f"DVC object {md5} is in neither the cache nor a local remote: check out the "
            "model's commit and run `dvc pull` first"
        )

    if not version.endswith(".dir"):
        raise DlopsError(f"data version {version!r} is not a versioned folder")
    entries = json.loads(find(version).read_text())
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise DlopsError(f"{destination} is not an empty folder: restore into a new one")
    for entry in entries:
        target = destination / entry["relpath"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(find(entry["md5"]), target)
    return len(entries)
