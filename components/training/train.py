"""The training step of a classification family: data → split → fit → tracked run + weights."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from components.data.tabular import load_tabular, read_csv, split_digest, split_indices
from components.data.versioning import family_files
from components.models import build_model
from components.models.artifact import save_model
from components.project import CODE_ROOT, Project
from components.settings import FamilySettings
from components.tracking import runs
from components.tracking.lineage import git_commit, lineage_tags
from components.training.trainer import fit, resolve_device, seed_everything


@dataclass(frozen=True)
class SplitData:
    """The tensors of one seeded split, with what is needed to rebuild the network."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    features: list[str]
    classes: list
    digest: str


def load_split(project: Project, settings: FamilySettings) -> SplitData:
    """Load the family's current data and split it by the configured seed."""
    data = load_tabular(family_files(project, settings.family), settings.data.target)
    parts = split_indices(data.y, settings.data.split)
    return SplitData(
        {k: data.x[v] for k, v in parts.items()},
        {k: data.y[v] for k, v in parts.items()},
        data.features,
        data.classes,
        split_digest(parts),
    )


def run_dir(project: Project, run_id: str) -> Path:
    """Local working folder of a training run (weights before they are logged, plots)."""
    return project.work / "runs" / run_id


def train_family(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    experiment_id: str,
    parent_run_id: str | None,
    validation_files: list[Path] = (),
) -> str:
    """Train the family on the current data version in a new MLflow run; returns the run id.

    The run stays open (RUNNING) for the evaluation step; it is marked FAILED here on error.
    """
    device = resolve_device(settings.train.device)
    tags = lineage_tags(
        settings.family, data_version, git_commit(CODE_ROOT), settings.config_hash(), str(device)
    )
    split = load_split(project, settings)
    run_id = runs.start_family_run(
        experiment_id, parent_run_id, settings.family, data_version, tags
    )
    try:
        runs.log_params(
            run_id,
            {
                **settings.flat(),
                "data.split.digest": split.digest,
                **{f"data.rows.{k}": str(len(v)) for k, v in split.y.items()},
                "data.n_features": str(len(split.features)),
                "data.n_classes": str(len(split.classes)),
            },
        )
        folder = family_files(project, settings.family)
        runs.log_dataset(
            run_id,
            read_csv(folder),
            name=f"{settings.family}-data",
            source=str(folder),
            data_version=data_version,
            target=settings.data.target,
        )
        for path in validation_files:
            runs.log_artifact(run_id, path, "validation")

        dims = {"n_features": len(split.features), "n_classes": len(split.classes)}
        seed_everything(settings.train.seed)  # initial weights are part of the reproducible run
        model = build_model(settings.family, settings.model, dims)
        model.fit_normalizer(torch.as_tensor(split.x["train"]))
        tensors = {
            k: (torch.as_tensor(split.x[k]), torch.as_tensor(split.y[k]))
            for k in ("train", "validation")
        }
        result = fit(model, tensors["train"], tensors["validation"], settings.train, device)

        runs.log_history(run_id, result.history)
        best = result.history[result.best_epoch - 1]
        runs.log_metrics(
            run_id,
            {
                "best_epoch": result.best_epoch,
                "best_val_loss": best["val_loss"],
                "best_val_accuracy": best["val_accuracy"],
                "epochs_run": len(result.history),
            },
        )
        card = {
            "family": settings.family,
            "model": settings.model,
            "dims": dims,
            "features": split.features,
            "classes": split.classes,
            "split_digest": split.digest,
            "best_epoch": result.best_epoch,
            "lineage": tags,
            "run_id": run_id,
        }
        local = run_dir(project, run_id)
        save_model(model.cpu(), card, local / "model")
        (local / "history.json").write_text(json.dumps(result.history))
    except BaseException:
        runs.end_run(run_id, ok=False)
        raise
    return run_id
