"""The registry as a running service sees it: an alias, a version's lineage, its weights + card.

Read-only by construction: it asks which version an alias names, reads a version's run and tags,
and downloads a version's logged model into a local cache. It never moves an alias, registers a
version or logs a run (an import-linter contract keeps it from the modules that do). Services
import it to follow their model's `champion`; on the embedded SQLite store the alias is read
with the standard library (milliseconds), any other store through MlflowClient.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from components import tags as tag
from components.tracking.store import reader

CACHE_ENV = "DLOPS_MODEL_CACHE"  # where downloaded versions are kept (default ~/.cache/dlops)


@dataclass(frozen=True)
class VersionFacts:
    """A registered version: its run, where its logged model lives, its lineage tags."""

    model_name: str
    version: str
    run_id: str
    source: str
    tags: dict[str, str]

    def lineage(self) -> dict[str, str]:
        """What every answer says about the model (the BentoML store's metadata has the same)."""
        return {
            "model_name": self.model_name,
            "model_version": self.version,
            **{key: self.tags.get(key, "") for key in tag.LINEAGE_KEYS},
        }


def alias_version(model_name: str, alias: str) -> str | None:
    """The version `alias` names now (None: the alias is not set)."""
    return reader().alias_version(model_name, alias)


def version_facts(model_name: str, version: str) -> VersionFacts:
    """A version's run, source and tags; LookupError when the registry has no such version."""
    from mlflow.exceptions import MlflowException

    from mlflow import MlflowClient

    try:
        found = MlflowClient().get_model_version(model_name, version)
    except MlflowException as exc:
        raise LookupError(f"{model_name} has no version {version}: {exc.message}") from None
    return VersionFacts(model_name, str(version), found.run_id, found.source, dict(found.tags))


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "dlops" / "models"


def fetch(facts: VersionFacts) -> Path:
    """The version's logged-model folder (MLmodel, input example, `artifacts/model/`), cached.

    Downloaded once per run into the cache (a temporary folder renamed into place, so a
    half-finished download is never read); from the tracking server's proxied artifacts, S3 or
    a local artifact root alike.
    """
    import mlflow

    folder = cache_root() / facts.model_name / f"v{facts.version}-{facts.run_id[:12]}"
    if (folder / "artifacts" / "model").is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=folder.parent))
    try:
        mlflow.artifacts.download_artifacts(facts.source, dst_path=str(staging))
        found = [staging, *staging.iterdir()]
        root = next((p for p in found if (p / "artifacts" / "model").is_dir()), None)
        if root is None:
            raise LookupError(f"{facts.source} holds no dlops model (no artifacts/model/)")
        try:
            root.rename(folder)
        except OSError:  # another process put it there first: theirs is as good
            if not (folder / "artifacts" / "model").is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def example(folder: Path):
    """The input example logged with the model (None when it has none), in the kind's form."""
    from mlflow.models import Model

    if not (folder / "MLmodel").is_file():
        return None
    return Model.load(str(folder)).load_input_example(str(folder))
