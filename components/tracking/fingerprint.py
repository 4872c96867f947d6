"""A family's fingerprint: its data files, its resolved config and the code it runs.

Retraining is skipped when all three equal those of the family's last successful run.

- data: a hash over the entries (path, md5) of DVC's directory manifest of the model's own
  folder `data/<key>`. Before the data is versioned the same entries are computed from the
  staged files (DVC 3 records each file's plain md5).
- config: `FamilySettings.config_hash()`.
- code: a hash over the source of the project modules the family's chain imports, starting
  from its model module and its kind's module (static imports, followed transitively), so a change
  in another family's model file does not retrain this one.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from components import tags as tag
from components.code import closure
from components.project import CODE_ROOT, DlopsError, Project
from components.settings import FamilySettings

# Steps every family runs through, besides its own model and task modules.
CHAIN_MODULES = ("components.training.train", "components.evaluation.evaluate")
TAG = tag.FINGERPRINT


@dataclass(frozen=True)
class Fingerprint:
    """The three parts and their combination."""

    data: str
    config: str
    code: str

    @property
    def combined(self) -> str:
        return _digest([self.data, self.config, self.code])[:16]

    def tags(self) -> dict[str, str]:
        """Run tags: the combination as `fingerprint`, each part as `fingerprint.<part>`."""
        return {
            TAG: self.combined,
            f"{TAG}.data": self.data,
            f"{TAG}.config": self.config,
            f"{TAG}.code": self.code,
        }

    def changes(self, tags: dict[str, str]) -> list[str]:
        """The parts that differ from a run's fingerprint tags (all three when it has none)."""
        return [
            part
            for part in ("data", "config", "code")
            if tags.get(f"{TAG}.{part}") != getattr(self, part)
        ]


def _digest(items: Iterable) -> str:
    return hashlib.sha256(json.dumps(list(items), sort_keys=True).encode()).hexdigest()


def entries_digest(entries: Iterable[tuple[str, str]]) -> str:
    """Hash of (relpath, md5) pairs, order-independent."""
    return _digest(sorted(entries))[:16]


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_entries(folder: Path) -> list[tuple[str, str]]:
    """(relpath, md5) of every file in `folder`, as DVC's manifest would list them."""
    return [
        (path.relative_to(folder).as_posix(), _md5(path))
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def manifest(project: Project, version: str) -> list[dict[str, str]]:
    """DVC's directory manifest of a data version: one {relpath, md5} per file."""
    if not version.endswith(".dir"):
        raise DlopsError(f"data version {version} is not a versioned folder")
    from dvc.repo import Repo

    with Repo(str(project.root)) as repo:  # the configured cache, wherever `dvc cache dir` put it
        path = Path(repo.cache.local.oid_to_path(version))
    if not path.is_file():
        raise DlopsError(f"DVC manifest {version} is not in the local cache: run `dvc pull`")
    return json.loads(path.read_text())


def manifest_entries(project: Project, key: str) -> list[tuple[str, str]]:
    """The (relpath, md5) entries of `data/<key>`'s current data version."""
    from components.data.versioning import current_version

    version = current_version(project, key)
    if version is None:
        raise DlopsError(f"data/{key}.dvc does not exist: data/{key} was never versioned")
    return [(entry["relpath"], entry["md5"]) for entry in manifest(project, version)]


@functools.cache
def code_fingerprint(roots: tuple[str, ...]) -> str:
    """Hash of the source of `roots` and every project module they import, transitively."""
    paths = closure(roots).modules.values()
    return _digest(
        (str(path.relative_to(CODE_ROOT)), hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(paths)
    )[:16]


def family_modules(family: str) -> tuple[str, ...]:
    """The modules a family's chain starts from: its model, its kind, the shared steps."""
    from components.kinds import kind_for
    from components.models import family_spec

    return (family_spec(family).build.__module__, type(kind_for(family)).__module__, *CHAIN_MODULES)


def compute(settings: FamilySettings, entries: list[tuple[str, str]]) -> Fingerprint:
    """The fingerprint of `settings.family` with the data `entries`."""
    return Fingerprint(
        data=entries_digest(entries),
        config=settings.config_hash(),
        code=code_fingerprint(family_modules(settings.family)),
    )


def of_folder(settings: FamilySettings, folder: Path) -> Fingerprint:
    """The fingerprint of `settings.family` with the files in `folder` as its data."""
    return compute(settings, folder_entries(folder))
