"""The evaluation step: test metrics, plots, the logged model; then the run is closed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from components.evaluation.classification import (
    classification_metrics,
    plot_confusion_matrix,
    plot_loss_curve,
    predict_proba,
)
from components.models.artifact import load_model
from components.project import DlopsError, Project
from components.settings import FamilySettings
from components.tracking import runs
from components.tracking.models import log_model
from components.training.train import SplitData, load_split, run_dir


def score(model: torch.nn.Module, card: dict, split: SplitData) -> dict[str, float]:
    """Test metrics of a model on `split`; raises DlopsError if its inputs do not fit the data."""
    if card["features"] != split.features or card["classes"] != split.classes:
        raise DlopsError("model was trained on other features or labels than the current data")
    proba = predict_proba(model, split.x["test"], torch.device("cpu"))
    metrics = classification_metrics(split.y["test"], proba.argmax(axis=1), len(split.classes))
    return {f"test_{name}": value for name, value in metrics.items()}


def evaluate_run(project: Project, settings: FamilySettings, run_id: str) -> dict[str, float]:
    """Score the run's best weights on the test split, log plots and the model, end the run."""
    try:
        folder = run_dir(project, run_id)
        model, card = load_model(folder / "model")
        split = load_split(project, settings)
        metrics = score(model, card, split)
        runs.log_metrics(run_id, metrics)

        y_pred = predict_proba(model, split.x["test"], torch.device("cpu")).argmax(axis=1)
        plots = [
            plot_confusion_matrix(
                split.y["test"], y_pred, split.classes, folder / "confusion_matrix.png"
            ),
            plot_loss_curve(
                json.loads((folder / "history.json").read_text()),
                card["best_epoch"],
                folder / "loss_curve.png",
            ),
        ]
        for plot in plots:
            runs.log_artifact(run_id, plot, "plots")
        # float64: what pandas reads from a CSV, so callers need no cast to match the signature
        example = pd.DataFrame(split.x["test"][:5].astype("float64"), columns=split.features)
        model_uri = log_model(run_id, folder / "model", example)
        runs.set_tags(run_id, {"model_uri": model_uri})
    except BaseException:
        runs.end_run(run_id, ok=False)
        raise
    runs.end_run(run_id, ok=True)
    return metrics


def model_uri_of(run_id: str) -> str:
    """The model URI the evaluation step recorded on the run."""
    return runs.client().get_run(run_id).data.tags["model_uri"]


def local_model_dir(model_uri: str) -> Path:
    """Download a logged model and return the folder holding its weights and card."""
    import mlflow

    root = Path(mlflow.artifacts.download_artifacts(model_uri))
    return root / "artifacts" / "model"
