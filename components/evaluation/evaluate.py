"""The evaluation step: test metrics, plots and the logged model of a training run."""

from __future__ import annotations

import json
from pathlib import Path

from components import tags as tag
from components.data.split import load_split
from components.kinds import kind_for
from components.kinds.card import load_model
from components.project import Project
from components.settings import FamilySettings
from components.tracking import runs
from components.tracking.models import log_model

DRIFT_REFERENCE = "drift/reference.parquet"  # the run's artifact: its training inputs, as logged
REFERENCE_ROWS = 2000


def write_reference(columns: dict, path: Path) -> None:
    """The reference rows as one Parquet file, in the served-input log's form."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)


def log_reference(run_id: str, kind, model, card, split, settings, folder: Path) -> None:
    """Log what `dlops drift` compares served inputs with; a failure only warns.

    The model is no worse without it: the first drift check rebuilds it from the data version.
    """
    try:
        reference = kind.drift_reference(model, card, split, settings, REFERENCE_ROWS)
        if reference is None:
            return
        path = folder / DRIFT_REFERENCE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_reference(reference, path)
    except Exception as exc:  # never fails the training run
        print(f"warning: no drift reference logged ({type(exc).__name__}: {exc})")
        return
    runs.log_artifact(run_id, path, str(Path(DRIFT_REFERENCE).parent))


def evaluate_run(project: Project, settings: FamilySettings, run_id: str) -> dict[str, float]:
    """Score the run's best weights on the test split; log the metrics, plots and the model."""
    kind = kind_for(settings.family)
    folder = project.run_dir(run_id)
    model, card = load_model(folder / "model")
    split = load_split(project, settings)
    metrics = kind.score(model, card, split)
    runs.log_metrics(run_id, metrics)
    history = json.loads((folder / "history.json").read_text())
    for plot in kind.plots(model, card, split, history, folder):
        runs.log_artifact(run_id, plot, "plots")
    log_reference(run_id, kind, model, card, split, settings, folder)
    model_uri = log_model(run_id, folder / "model", kind.example(split))
    runs.set_tags(run_id, {tag.MODEL_URI: model_uri})
    if said := kind.verdict(metrics):
        runs.set_tags(run_id, {tag.VERDICT: said})
    return metrics


def verdict(settings: FamilySettings, metrics: dict[str, float] | None) -> str | None:
    """The run's test metrics beside its kind's baselines, in words, or None."""
    return kind_for(settings.family).verdict(metrics) if metrics else None
