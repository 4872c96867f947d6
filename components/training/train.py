"""The training step: data → split → fit → a tracked MLflow run and the best weights on disk."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from components.data.versioning import family_files
from components.models import build_model
from components.models.artifact import save_model
from components.project import CODE_ROOT, Project
from components.settings import FamilySettings
from components.tasks import Split, task_for
from components.tracking import runs
from components.tracking.fingerprint import Fingerprint
from components.tracking.lineage import git_commit, lineage_tags
from components.training.checkpoint import Checkpointer
from components.training.trainer import resolve_device, seed_everything

log = logging.getLogger(__name__)


def load_split(project: Project, settings: FamilySettings) -> Split:
    """The family's current data, split by the configured seed."""
    return task_for(settings.family).load_split(family_files(project, settings.family), settings)


def run_dir(project: Project, run_id: str) -> Path:
    """Local working folder of a training run (weights before they are logged, plots)."""
    return project.work / "runs" / run_id


def checkpoints_of(project: Project, run_id: str) -> Checkpointer:
    """Where a training run checkpoints every epoch: its own folder in the run store."""
    return Checkpointer(run_dir(project, run_id) / "checkpoints")


@dataclass(frozen=True)
class Resume:
    """Where a new run continues from: a dead run's checkpoint and its last completed epoch."""

    run_id: str
    checkpoints: Checkpointer
    epoch: int


def resumable(
    project: Project, experiment_id: str, family: str, fingerprint: Fingerprint
) -> Resume | None:
    """The latest failed or killed run of the same data, config and code that left a checkpoint.

    A checkpoint that cannot be read (a disk error, a file cut short) is passed over.
    """
    for run in runs.unfinished_runs(experiment_id, family, fingerprint.combined):
        checkpoints = checkpoints_of(project, run.info.run_id)
        if not checkpoints.exists():
            continue
        try:
            epoch = checkpoints.epoch()
        except Exception as exc:  # any unreadable file: train from scratch
            log.warning(
                "checkpoint of run %s is unreadable (%s): not resumed", run.info.run_id, exc
            )
            continue
        return Resume(run.info.run_id, checkpoints, epoch)
    return None


def interrupted(exc: BaseException) -> bool:
    """Ctrl-C, SIGTERM (Prefect's cancellation) or exit, rather than an error."""
    return not isinstance(exc, Exception)


def train_family(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    experiment_id: str,
    parent_run_id: str | None,
    fingerprint: Fingerprint,
    validation_files: list[Path] = (),
) -> str:
    """Train the family on the current data version in a new MLflow run; returns the run id.

    Every epoch is checkpointed into the run's folder. When an earlier run with the same
    fingerprint died mid-training, this run continues from its last checkpoint (tags
    `resumed_from_run`, `resumed_from_epoch`) and reaches the same weights. The run stays open
    (RUNNING) for the evaluation step; it ends FAILED here on error, KILLED on interruption.
    """
    task = task_for(settings.family)
    device = resolve_device(settings.train.device)
    tags = (
        lineage_tags(
            settings.family,
            data_version,
            git_commit(CODE_ROOT),
            settings.config_hash(),
            str(device),
        )
        | fingerprint.tags()
    )
    split = load_split(project, settings)
    previous = resumable(project, experiment_id, settings.family, fingerprint)
    if previous is not None:
        tags |= {"resumed_from_run": previous.run_id, "resumed_from_epoch": str(previous.epoch)}
    run_id = runs.start_family_run(
        experiment_id, parent_run_id, settings.family, data_version, tags
    )
    checkpoints = checkpoints_of(project, run_id)
    try:
        if previous is not None:
            checkpoints.copy_from(previous.checkpoints)
        runs.log_params(
            run_id,
            {
                **settings.flat(),
                "data.split.digest": split.digest,
                **{f"data.rows.{k}": str(len(v)) for k, v in split.x.items()},
                **{f"data.{k}": str(v) for k, v in split.dims.items()},
                **split.params,
            },
        )
        folder = family_files(project, settings.family)
        frame = task.dataset_frame(folder)
        target = settings.data.target if settings.data.target in frame.columns else None
        runs.log_dataset(
            run_id,
            frame,
            name=f"{settings.family}-data",
            source=str(folder),
            data_version=data_version,
            target=target,
        )
        for path in validation_files:
            runs.log_artifact(run_id, path, "validation")

        seed_everything(settings.train.seed)  # initial weights are part of the reproducible run
        model = build_model(settings.family, settings.model, split.dims)
        local = run_dir(project, run_id)
        (local / "training").mkdir(parents=True, exist_ok=True)
        result = task.fit(model, split, settings, device, local / "training", checkpoints)
        if any((local / "training").iterdir()):
            runs.client().log_artifacts(run_id, str(local / "training"), "training")

        runs.log_history(run_id, result.history)
        runs.log_metrics(run_id, result.summary())
        card = {
            "family": settings.family,
            "task": task.kind,
            "model": settings.model,
            "dims": split.dims,
            **split.info,
            "split_digest": split.digest,
            "best_epoch": result.best_epoch,
            "lineage": tags,
            "run_id": run_id,
            "serving": settings.serving.model_dump(),
        }
        save_model(model.cpu(), card, local / "model")
        (local / "history.json").write_text(json.dumps(result.history))
    except BaseException as exc:
        runs.end_run(run_id, ok=False, status="KILLED" if interrupted(exc) else None)
        raise
    # Trained: no run needs these checkpoints any more.
    checkpoints.remove()
    if previous is not None:
        previous.checkpoints.remove()
    return run_id
