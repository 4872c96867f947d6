"""The training steps: open the family's MLflow run; then split, build, fit, save.

The flow owns the run: `open_run` starts it (lineage, inputs, and a dead run's checkpoint to
continue from), `train_family` and the evaluation step take its id, and the flow ends it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from components import tags as tag
from components.data.split import load_split
from components.data.versioning import model_files
from components.kinds import kind_for
from components.kinds.card import save_model
from components.models import build_model
from components.project import CODE_ROOT, Project
from components.runtime.checkpoint import Checkpointer
from components.runtime.device import resolve_device, seed_everything
from components.settings import FamilySettings
from components.tracking import runs
from components.tracking.fingerprint import Fingerprint
from components.tracking.lineage import git_commit

log = logging.getLogger(__name__)


SHARE_EVERY_S = 60.0  # how often a running training shares its checkpoint (and beats)
CHECKPOINT_ARTIFACT = "checkpoints"


class SharedCheckpoints:
    """What follows a saved checkpoint, at most once a minute: a heartbeat, and its sharing.

    The run and its pipeline beat; the checkpoint becomes an artifact of the run, where any
    worker can read it (a run whose worker died resumes on another). Best effort: a failure
    here never fails training.
    """

    def __init__(self, run_id: str, parent_run_id: str | None):
        self.run_id, self.parent_run_id, self.last = run_id, parent_run_id, float("-inf")

    def __call__(self, path: Path) -> None:
        now = time.monotonic()
        if now - self.last < SHARE_EVERY_S:
            return
        self.last = now
        try:
            for run_id in filter(None, (self.run_id, self.parent_run_id)):
                runs.beat(run_id)
            runs.log_artifact(self.run_id, path, CHECKPOINT_ARTIFACT)
        except Exception as exc:  # the tracking store is away: the local checkpoint stays
            log.warning("checkpoint of run %s not shared: %s", self.run_id, exc)


def checkpoints_of(project: Project, run_id: str, parent_run_id: str | None = None) -> Checkpointer:
    """Where a training run checkpoints every epoch: its own folder in the run store.

    With `parent_run_id` (a training in progress), each checkpoint is also shared.
    """
    share = SharedCheckpoints(run_id, parent_run_id) if parent_run_id is not None else None
    return Checkpointer(project.run_dir(run_id) / "checkpoints", on_save=share)


def _fetched(project: Project, run_id: str) -> Checkpointer:
    """The run's checkpoint in this checkout: here already, or fetched from its artifacts."""
    checkpoints = checkpoints_of(project, run_id)
    if not checkpoints.exists():
        fetched = runs.download(run_id, f"{CHECKPOINT_ARTIFACT}/last.pt", checkpoints.folder)
        if fetched is None:
            log.info("run %s left no shared checkpoint", run_id)
    return checkpoints


@dataclass(frozen=True)
class Resume:
    """Where a new run continues from: a dead run's checkpoint and its last completed epoch."""

    run_id: str
    checkpoints: Checkpointer
    epoch: int


def resumable(
    project: Project, experiment_id: str, model_name: str, fingerprint: Fingerprint
) -> Resume | None:
    """The latest failed or killed run of the same data, config and code that left a checkpoint.

    A checkpoint that cannot be read (a disk error, a file cut short) is passed over.
    """
    for run in runs.unfinished_runs(experiment_id, model_name, fingerprint.combined):
        checkpoints = _fetched(project, run.info.run_id)  # the run may have died elsewhere
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


def open_run(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    fingerprint: Fingerprint,
    experiment_id: str,
    parent_run_id: str | None,
    validation_files: list[Path] = (),
) -> str:
    """Start the family's training run (RUNNING) with its lineage and inputs; return its id.

    When an earlier run with the same fingerprint died mid-training, its last checkpoint is
    copied into this run's store (tags `resumed_from_run`, `resumed_from_epoch`) and training
    continues from it.
    """
    device = resolve_device(settings.train.device)
    lineage = tag.lineage_tags(
        settings.family, data_version, git_commit(CODE_ROOT), settings.config_hash(), str(device)
    )
    tags = lineage | fingerprint.tags()
    previous = resumable(project, experiment_id, settings.model_name, fingerprint)
    if previous is not None:
        tags |= {tag.RESUMED_FROM_RUN: previous.run_id, tag.RESUMED_FROM_EPOCH: str(previous.epoch)}
    run_id = runs.start_family_run(
        experiment_id, parent_run_id, settings.model_name, data_version, tags
    )
    try:
        if previous is not None:
            checkpoints_of(project, run_id).copy_from(previous.checkpoints)
        folder = model_files(project, settings.data_key)
        frame = kind_for(settings.family).dataset_frame(folder)
        runs.log_dataset(
            run_id,
            frame,
            name=f"{settings.family}-data",
            source=str(folder),
            data_version=data_version,
            target=settings.data.target if settings.data.target in frame.columns else None,
        )
        for path in validation_files:
            runs.log_artifact(run_id, path, "validation")
        runs.log_settings(run_id, settings, project.run_dir(run_id))
    except BaseException as exc:  # the flow never got the id: end the run here
        runs.end_failed(run_id, exc)
        raise
    return run_id


def train_family(project: Project, settings: FamilySettings, run_id: str) -> None:
    """Split, build, fit, save: the best weights and their card go to the run's folder.

    Every epoch is checkpointed into the run's folder and a checkpoint there is continued
    from. The run stays RUNNING: the flow ends it after evaluation, or on failure.
    """
    kind = kind_for(settings.family)
    run = runs.client().get_run(run_id)
    device = resolve_device(settings.train.device)
    local = project.run_dir(run_id)
    checkpoints = checkpoints_of(project, run_id, run.data.tags.get(tag.PARENT_RUN, ""))

    # split
    split = load_split(project, settings)
    train = settings.train.adapted(split.size("train"))
    adapted = {
        f"train.adapted.{key}": str(getattr(train, key))
        for key in ("batch_size", "patience")
        if getattr(train, key) != getattr(settings.train, key)
    }
    if adapted:
        log.warning(
            "%s: %d training examples: %s (small data: more optimiser steps per epoch)",
            settings.family,
            split.size("train"),
            ", ".join(f"{k.removeprefix('train.adapted.')} {v}" for k, v in adapted.items()),
        )
    runs.log_params(
        run_id,
        {
            **adapted,
            **settings.flat(),
            "data.split.digest": split.digest,
            **{f"data.rows.{part}": str(split.size(part)) for part in split.data},
            **{f"data.{k}": str(v) for k, v in split.dims.items()},
            **split.params,
        },
    )
    settings = settings.model_copy(update={"train": train})
    # build
    seed_everything(settings.train.seed)  # initial weights are part of the reproducible run
    model = build_model(settings.family, settings.model, split.dims)
    # fit
    (local / "training").mkdir(parents=True, exist_ok=True)
    result = kind.fit(model, split, settings, device, local / "training", checkpoints)
    if any((local / "training").iterdir()):
        runs.client().log_artifacts(run_id, str(local / "training"), "training")
    runs.log_history(run_id, result.history)
    runs.log_metrics(run_id, result.summary())
    # save
    lineage = {k: run.data.tags[k] for k in tag.LINEAGE_KEYS}
    card = kind.make_card(
        settings, split, best_epoch=result.best_epoch, lineage=lineage, run_id=run_id
    )
    save_model(model.cpu(), card, local / "model")
    (local / "history.json").write_text(json.dumps(result.history))
    # trained: no run needs these checkpoints any more
    checkpoints.remove()
    if resumed_from := run.data.tags.get(tag.RESUMED_FROM_RUN):
        checkpoints_of(project, resumed_from).remove()
