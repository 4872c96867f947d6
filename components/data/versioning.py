"""DVC versioning, one output per registered model: `data/<key>` with its pointer `data/<key>.dvc`.

The md5 in a model's pointer is that model's data version: it names exactly the files the model
was trained on, and `git checkout <commit> && dvc checkout data/<key>.dvc` restores them.
Built-in data sets live in `data/<family>`; a user's own data set in `data/<family>-<name>`.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from components.project import DlopsError, Project
from components.runtime.faults import fault_point

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
    """One DVC operation at a time on this checkout's DVC repository, across processes.

    DVC's own repository lock refuses a second process instead of waiting: families trained
    at once take turns here. What other machines must agree on is not guarded here: a model's
    runs take turns on a Prefect concurrency limit (`pipelines/family.py`), and the DVC remote
    stores content by its hash (two pushes of the same files write the same objects).
    """
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
                fault_point("while-pushing")
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


OBJECT_STORES = {
    "s3",
    "gs",
    "gcs",
    "azure",
    "az",
    "oss",
}  # remotes whose first path part is a bucket


def check_remote(project: Project) -> str | None:
    """The URL of the project's default DVC remote, checked to answer (None without one).

    A DlopsError naming the remote when DVC cannot use it: its plugin is missing, its endpoint
    does not answer, the credentials are refused, or its bucket does not exist. Asked before
    anything is versioned, so that a bad remote never leaves a half-pushed data version.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    if not (project.root / ".dvc").is_dir():
        return None  # a new project: its first `dvc add` makes the repository, local only
    with Repo(str(project.root)) as repo:
        name = repo.config["core"].get("remote")
        if not name:
            return None
        url = repo.config["remote"].get(name, {}).get("url", "?")
        where = f"the DVC remote {name!r} ({url}, .dvc/config)"
        try:
            remote = repo.cloud.get_remote(name)
        except DvcException as exc:
            raise DlopsError(f"{where}: {exc}") from None
        protocol = remote.fs.protocol
        protocols = {protocol} if isinstance(protocol, str) else set(protocol)
        if not protocols & OBJECT_STORES:
            return url
        bucket = remote.path.split("/")[0]
        try:
            found = remote.fs.exists(bucket)
        except Exception as exc:  # the object store's client says why, in its own words
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DlopsError(f"{where} cannot be read: {reason}") from None
    if not found:
        raise DlopsError(
            f"{where}: bucket {bucket!r} does not exist (or the credentials cannot see it)"
        )
    return url


def status(project: Project) -> list[DataStatus]:
    """Compare each versioned folder of `data/` with its pointer."""
    found = keys(project)
    if not found:
        return []
    with _lock(project), _repo(project) as repo:
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


def model_files(project: Project, key: str, data_version: str | None = None) -> Path:
    """The model's data in its current data version: the folder `data/<key>`.

    A checkout that has the pointer `data/<key>.dvc` but not the folder (a second checkout, a
    worker) pulls it from the DVC remote, as `dvc pull` would. One without the pointer either
    (the model was trained from another checkout) gets `data_version`, when given, restored
    into `.dlops/restored/` (the registry names the data a model's versions were trained on).
    """
    folder = project.data / key
    if folder.is_dir():
        return folder
    if pointer(project, key).exists():
        from dvc.exceptions import DvcException

        with _lock(project), _repo(project) as repo:
            try:
                repo.pull(targets=[str(pointer(project, key))])
            except DvcException as exc:
                raise DlopsError(f"data/{key}: DVC could not pull it: {exc}") from None
        if folder.is_dir():
            return folder
    if data_version:
        restored = project.work / "restored" / data_version.removesuffix(".dir")
        if not restored.is_dir():
            partial = restored.with_name(f".{restored.name}.{os.getpid()}")
            shutil.rmtree(partial, ignore_errors=True)
            restore(project, data_version, partial)
            partial.rename(restored)  # whole or not at all
        return restored
    raise DlopsError(f"data/{key} does not exist: run `dlops data ingest` first")


def _cached(repo, md5s: list[str]) -> None:
    """Pull the objects missing from the local cache from the project's DVC remote.

    Any remote DVC reads (a folder, S3, GCS, Azure, SSH...), through DVC's own transfer.
    """
    from dvc.exceptions import DvcException
    from dvc_data.hashfile.hash_info import HashInfo

    cache = repo.cache.local
    missing = [md5 for md5 in md5s if not cache.exists(md5)]
    if not missing:
        return
    try:
        result = repo.cloud.pull([HashInfo("md5", md5) for md5 in missing])
    except DvcException as exc:
        raise DlopsError(f"DVC could not read the data from its remote: {exc}") from None
    if result.failed:
        raise DlopsError(
            f"{len(result.failed)} DVC objects are in neither the cache nor the remote "
            f"(e.g. {next(iter(result.failed)).value}): was the data version pushed?"
        )


def restore(project: Project, version: str, destination: Path) -> int:
    """Write the files of data version `version` (a `.dir` md5) into `destination`.

    Read from DVC's local cache; what it lacks is pulled from the project's DVC remote first
    (`.dvc/config`, e.g. the team's S3 bucket). Returns the number of files.
    """
    import json

    from dvc.repo import Repo

    if not version.endswith(".dir"):
        raise DlopsError(f"data version {version!r} is not a versioned folder")
    if not (project.root / ".dvc").is_dir():
        raise DlopsError(f"{project.root} is not a DVC project: nothing to restore from")
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise DlopsError(f"{destination} is not an empty folder: restore into a new one")
    with _lock(project), Repo(str(project.root)) as repo:
        cache = repo.cache.local
        _cached(repo, [version])
        entries = json.loads(Path(cache.oid_to_path(version)).read_text())
        _cached(repo, [entry["md5"] for entry in entries])
        for entry in entries:
            target = destination / entry["relpath"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cache.oid_to_path(entry["md5"]), target)
    return len(entries)


def missing_on_remote(project: Project, data_versions: list[str], push: bool = False) -> list[str]:
    """The data versions (`.dir` md5s) whose files are not all on the DVC remote.

    With `push`, what this checkout's cache holds of them is pushed first (a run killed while
    pushing left its data version here, not there).
    """
    import json

    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    if not data_versions or not (project.root / ".dvc").is_dir():
        return []
    lacking = []
    with _lock(project), Repo(str(project.root)) as repo:
        cache = repo.cache.local
        for version in dict.fromkeys(data_versions):
            try:
                _cached(repo, [version])  # the listing: from the cache, or the remote
            except DlopsError:
                lacking.append(version)
                continue
            entries = json.loads(Path(cache.oid_to_path(version)).read_text())
            objects = [HashInfo("md5", version)] + [HashInfo("md5", e["md5"]) for e in entries]
            status = repo.cloud.status(objects)
            if push and status.new:
                repo.cloud.push(list(status.new))
                status = repo.cloud.status(objects)
            if status.new or status.missing:
                lacking.append(version)
    return lacking
