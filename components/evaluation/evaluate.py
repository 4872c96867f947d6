"""The evaluation step: test metrics, plots, the logged model; then the run is closed."""

from __future__ import annotations

import json
from pathlib import Path

from components.models.artifact import load_model
from components.project import Project
from components.settings import FamilySettings
from components.tasks import task_for
from components.tracking import runs
from components.tracking.models import log_model
from components.training.train import load_split, run_dir


def evaluate_run(project: Project, settings: FamilySettings, run_id: str) -> dict[str, float]:
    """Score the run's best weights on the test split, log plots and the model, end the run."""
    task = task_for(settings.family)
    try:
        folder = run_dir(project, run_id)
        model, card = load_model(folder / "model")
        split = load_split(project, settings)
        metrics = task.score(model, card, split)
        runs.log_metrics(run_id, metrics)
        history = json.loads((folder / "history.json").read_text())
        for plot in task.plots(model, card, split, history, folder):
            runs.log_artifact(run_id, plot, "plots")
        model_uri = log_model(run_id, folder / "model", task.example(split))
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
