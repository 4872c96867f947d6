"""Helpers shared by the data and integration tiers."""

from __future__ import annotations

from pathlib import Path

TINY = """\
pipeline:
  families: [mlp]
mlp:
  model: {hidden_sizes: [16]}
  train: {epochs: 15, patience: 5, progress: false}
"""


def tiny_config(folder: Path, extra: str = "") -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY + extra)
    return path


def registry_state(model_name: str) -> dict:
    """Versions and aliases of a registered model (empty when it does not exist)."""
    from mlflow.exceptions import MlflowException

    from components.tracking.runs import client

    try:
        model = client().get_registered_model(model_name)
    except MlflowException:
        return {"versions": [], "aliases": {}}
    versions = sorted(
        int(v.version) for v in client().search_model_versions(f"name='{model_name}'")
    )
    return {"versions": versions, "aliases": dict(model.aliases)}


def training_runs(family: str) -> list:
    from components.tracking.runs import client

    experiments = [e.experiment_id for e in client().search_experiments()]
    return client().search_runs(
        experiments, filter_string=f"tags.family = '{family}' and tags.`dlops.kind` = 'training'"
    )
