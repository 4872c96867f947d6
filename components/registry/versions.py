"""MLflow Model Registry: versions and the `champion` / `challenger` aliases."""

from __future__ import annotations

import time

from components import tags as tag
from components.project import DlopsError, Project
from components.settings import default_model_name
from components.tracking.runs import client

CHAMPION = "champion"
CHALLENGER = "challenger"


def register(model_name: str, model_uri: str, run_id: str, tags: dict[str, str]) -> str:
    """Register the run's model (once: a retry returns the existing version); returns it."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client()
    run = mlflow_client.get_run(run_id)
    if run.info.status != "FINISHED":
        raise DlopsError(f"run {run_id} is {run.info.status}: only finished runs are registered")
    try:
        mlflow_client.get_registered_model(model_name)
    except MlflowException:
        try:
            mlflow_client.create_registered_model(
                model_name,
                tags={tag.FAMILY: tags.get(tag.FAMILY, "")},
                description=f"dlops {tags.get(tag.FAMILY, '')} family; alias `champion` is "
                "production",
            )
        except MlflowException:  # another run of the model made it first
            mlflow_client.get_registered_model(model_name)
    existing = mlflow_client.search_model_versions(f"name='{model_name}' and run_id='{run_id}'")
    if existing:
        return str(existing[0].version)
    # MLflow 3: a logged model's `models:/<model id>` source names its model id too (a tracking
    # server refuses the source without it)
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    version = mlflow_client.create_model_version(
        model_name, model_uri, run_id=run_id, tags=tags, model_id=model_id
    )
    return str(version.version)


def discard_ungated(run_id: str) -> list[str]:
    """Delete the versions registered from `run_id` that the gate never judged.

    For runs whose pipeline died between registration and the gate's decision: such a version
    was never compared with the champion and no alias points at it. Returns "name vN" of each.
    """
    discarded = []
    for version in client().search_model_versions(f"run_id='{run_id}'"):
        if tag.GATE_DECISION not in version.tags:
            client().delete_model_version(version.name, version.version)
            discarded.append(f"{version.name} v{version.version}")
    return discarded


def delete_version(model_name: str, version: str) -> None:
    """Delete a version that no alias names (a failed run's)."""
    client().delete_model_version(model_name, version)


def alias_version(model_name: str, alias: str) -> str | None:
    """The version an alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client().get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def make_default(model_name: str) -> None:
    """Make `model_name` its family's default model (serve, status, history, promote...).

    A tag on the registered model, on the tracking server: every checkout sees the same.
    """
    client().set_registered_model_tag(model_name, tag.DEFAULT_SINCE, str(time.time_ns()))


def default_model(project: Project, family: str) -> str:
    """The family's default registered model: the one made default last, else the built-in.

    Read from the tracking store (without importing MLflow on the embedded SQLite store); a
    checkout from before the default was kept there still finds its own.
    """
    from components.tracking.store import reader

    return (
        reader().default_model(family)
        or project.legacy_default(family)
        or default_model_name(family)
    )


def set_alias(model_name: str, alias: str, version: str) -> None:
    client().set_registered_model_alias(model_name, alias, version)


def latest_version(model_name: str) -> str | None:
    """The highest version number registered under `model_name`, or None."""
    versions = client().search_model_versions(f"name='{model_name}'")
    return max((str(v.version) for v in versions), key=int, default=None)


def version_info(model_name: str, version: str):
    """The registry's record of one version (raises DlopsError if unknown)."""
    from mlflow.exceptions import MlflowException

    try:
        return client().get_model_version(model_name, version)
    except MlflowException:
        raise DlopsError(f"{model_name} has no version {version}") from None


def tag_version(model_name: str, version: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        client().set_model_version_tag(model_name, version, key, str(value))


def version_settings(model_name: str, version: str, defaults=None):
    """The settings the version was trained with: its data source, target, gate, serving.

    Rebuilt from its training run's logged settings, never from today's family defaults. A
    version from before runs logged them gets `defaults()` (the built-in model's family
    settings), or a DlopsError for any other model.
    """
    from components.tracking.runs import run_settings

    info = version_info(model_name, version)
    settings = run_settings(info.run_id)
    if settings is not None:
        return settings
    if defaults is not None:
        return defaults()
    raise DlopsError(
        f"{model_name} v{version}: its run {info.run_id} logged no settings "
        "(config/settings.json): retrain it with its data source to act on it"
    )
