"""MLflow runs addressed by id (no fluent active-run state shared across tasks)."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
from pathlib import Path

from components import tags as tag
from components.project import Project
from components.settings import FamilySettings, model_data_key

log = logging.getLogger(__name__)


def client():
    """An MlflowClient on the configured tracking URI."""
    from mlflow import MlflowClient

    return MlflowClient()


def ensure_experiment(project: Project, name: str) -> str:
    """Create (once) and return the experiment; it opens on training runs in the MLflow UI."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client()
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is None:
        location = None
        if client().tracking_uri.startswith("sqlite:"):
            location = f"{project.artifact_root()}/{name}"
        try:
            experiment_id = mlflow_client.create_experiment(name, artifact_location=location)
        except MlflowException:  # another process made it first
            experiment = mlflow_client.get_experiment_by_name(name)
            if experiment is None:
                raise
            experiment_id = experiment.experiment_id
    else:
        experiment_id = experiment.experiment_id
    mlflow_client.set_experiment_tag(experiment_id, tag.EXPERIMENT_KIND, "custom_model_development")
    return experiment_id


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


# A RUNNING run of another host whose heartbeat is older than this is taken for dead: its host
# cannot be asked about its process. Runs beat when they start, at each shared checkpoint and
# while their pipeline waits for its families.
STALE_AFTER_S = 1800


def process_tags() -> dict[str, str]:
    """Which process owns a run: a run whose process died is found and ended by `reap`."""
    import psutil

    me = psutil.Process()
    return {
        tag.HOST: socket.gethostname(),
        tag.PID: str(me.pid),
        tag.PID_STARTED: f"{me.create_time():.3f}",
        tag.HEARTBEAT: f"{time.time():.0f}",
    }


def beat(run_id: str) -> None:
    """A sign of life of a long run, for `dead_runs` on other hosts."""
    set_tags(run_id, {tag.HEARTBEAT: f"{time.time():.0f}"})


def _owner_alive(tags: dict[str, str]) -> bool:
    import psutil

    try:
        process = psutil.Process(int(tags[tag.PID]))
        return f"{process.create_time():.3f}" == tags.get(tag.PID_STARTED)
    except psutil.AccessDenied:
        return True  # another user's live process
    except (psutil.Error, KeyError, ValueError):
        return False


def _dead(run, host: str, now: float) -> bool:
    tags = run.data.tags
    if tags.get(tag.HOST) == host:
        return not _owner_alive(tags)  # this host: ask for its process
    last = float(tags.get(tag.HEARTBEAT) or run.info.start_time / 1000)
    return now - last > STALE_AFTER_S  # another host: silent too long


def dead_runs(experiment_id: str) -> list[str]:
    """The RUNNING runs whose process is gone.

    On this host, asked by its PID; on another host, a heartbeat older than `STALE_AFTER_S` (a
    worker that crashed, a machine that lost power).
    """
    host, now = socket.gethostname(), time.time()
    found = client().search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=5000
    )
    return [run.info.run_id for run in found if _dead(run, host, now)]


def reap(experiment_id: str) -> list[str]:
    """End as KILLED the RUNNING runs whose process is gone (SIGKILL, power loss, a lost worker).

    Runs of live processes are left alone (see `dead_runs`). Returns the ended run ids.
    """
    ended = []
    for run_id in dead_runs(experiment_id):
        _end_killed(run_id)
        ended.append(run_id)
    # A training run finished but its pipeline died before the family succeeded (during
    # registration or the gate): it counts as killed too.
    for parent in list(ended):
        for run in client().search_runs(
            [experiment_id],
            filter_string=(
                f"tags.`{tag.PARENT_RUN}` = '{parent}' and tags.`{tag.RUN_KIND}` = 'training' "
                "and attributes.status = 'FINISHED'"
            ),
        ):
            if tag.OUTCOME not in run.data.tags:
                _end_killed(run.info.run_id)
                ended.append(run.info.run_id)
    return ended


def end_runs_of(experiment_id: str, flow_run_id: str) -> list[str]:
    """End as KILLED the RUNNING runs a crashed Prefect flow run owned (its worker died)."""
    found = client().search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{tag.FLOW_RUN}` = '{flow_run_id}'",
    )
    for run in found:
        _end_killed(run.info.run_id)
    return [run.info.run_id for run in found]


def _end_killed(run_id: str) -> None:
    set_tags(run_id, {tag.ENDED: "process gone; ended by the next run"})
    client().set_terminated(run_id, "KILLED")


def start_pipeline_run(experiment_id: str, families: list[str], tags: dict[str, str]) -> str:
    """The parent run of one pipeline run; returns its id."""
    run = client().create_run(
        experiment_id,
        run_name=f"pipeline {'+'.join(families)} {_stamp()}",
        tags={tag.RUN_KIND: "pipeline", **process_tags(), **tags},
    )
    return run.info.run_id


def start_family_run(
    experiment_id: str,
    parent_run_id: str | None,
    model_name: str,
    data_version: str,
    tags: dict[str, str],
) -> str:
    """A model's training run, nested under the pipeline run, named for people."""
    all_tags = {tag.RUN_KIND: "training", tag.MODEL: model_name, **process_tags(), **tags}
    if parent_run_id:
        all_tags[tag.PARENT_RUN] = parent_run_id
    run = client().create_run(
        experiment_id,
        run_name=f"{model_data_key(model_name)} {data_version[:8]} {_stamp()}",
        tags=all_tags,
    )
    return run.info.run_id


def end_run(run_id: str, ok: bool, status: str | None = None) -> None:
    """FINISHED or FAILED, or the given status (KILLED when the process was interrupted)."""
    client().set_terminated(run_id, status or ("FINISHED" if ok else "FAILED"))


def interrupted(exc: BaseException) -> bool:
    """Ctrl-C, SIGTERM (Prefect's cancellation) or exit, rather than an error."""
    return not isinstance(exc, Exception)


def end_failed(run_id: str, exc: BaseException) -> None:
    """End a run that an error (FAILED) or an interruption (KILLED) stopped, if still open.

    Never raises: the error that stopped the run is the one to report (a run left RUNNING is
    ended by the next pipeline run, `reap`).
    """
    try:
        if client().get_run(run_id).info.status == "RUNNING":
            end_run(run_id, ok=False, status="KILLED" if interrupted(exc) else None)
    except Exception as error:  # the tracking server itself may be what failed
        log.warning("could not end run %s: %s", run_id, error)


def last_successful_run(experiment_id: str, model_name: str):
    """The model's latest training run that went through the whole chain, or None."""
    found = client().search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{tag.MODEL}` = '{model_name}' and tags.`{tag.RUN_KIND}` = 'training' "
            f"and tags.`{tag.OUTCOME}` = 'ok' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0] if found else None


def unfinished_runs(experiment_id: str, model_name: str, fingerprint: str) -> list:
    """The model's ended-but-not-finished training runs with this fingerprint, newest first."""
    return client().search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{tag.MODEL}` = '{model_name}' and tags.`{tag.RUN_KIND}` = 'training' "
            f"and tags.{tag.FINGERPRINT} = '{fingerprint}' "
            "and attributes.status != 'FINISHED' and attributes.status != 'RUNNING'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=20,
    )


def record_skip(
    experiment_id: str,
    parent_run_id: str | None,
    family: str,
    model_name: str,
    data_version: str | None,
    tags: dict[str, str],
) -> str:
    """A short finished run saying the model was not retrained because nothing changed."""
    all_tags = {
        **process_tags(),
        tag.RUN_KIND: "skipped",
        tag.SKIPPED: "unchanged",
        tag.FAMILY: family,
        tag.MODEL: model_name,
        tag.DATA_VERSION: data_version or "",
        **tags,
    }
    if parent_run_id:
        all_tags[tag.PARENT_RUN] = parent_run_id
    run = client().create_run(
        experiment_id, run_name=f"{model_data_key(model_name)} unchanged {_stamp()}", tags=all_tags
    )
    client().set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


SETTINGS_ARTIFACT = "config/settings.json"


def log_settings(run_id: str, settings: FamilySettings, folder: Path) -> None:
    """The run's resolved settings, whole: what promote, serve and build rebuild it from."""
    path = folder / SETTINGS_ARTIFACT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings.model_dump(mode="json"), indent=1, sort_keys=True))
    log_artifact(run_id, path, str(Path(SETTINGS_ARTIFACT).parent))


def run_settings(run_id: str) -> FamilySettings | None:
    """The settings a training run logged (None for runs from before they were logged)."""
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException
    from pydantic import ValidationError

    from components.project import DlopsError
    from components.settings import describe_errors

    try:
        path = download_artifacts(run_id=run_id, artifact_path=SETTINGS_ARTIFACT)
    except (MlflowException, OSError):
        return None
    try:
        return FamilySettings.model_validate(json.loads(Path(path).read_text()))
    except ValidationError as exc:
        detail = describe_errors(exc, SETTINGS_ARTIFACT)
        raise DlopsError(f"run {run_id}: {detail} (logged by another dlops)") from None


def log_params(run_id: str, params: dict[str, str]) -> None:
    from mlflow.entities import Param

    items = [Param(k, v[:6000]) for k, v in sorted(params.items())]
    for start in range(0, len(items), 100):
        client().log_batch(run_id, params=items[start : start + 100])


def log_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    client().log_batch(
        run_id, metrics=[Metric(k, float(v), now, step) for k, v in sorted(metrics.items())]
    )


def log_history(run_id: str, history: list[dict[str, float]]) -> None:
    """Per-epoch curves, one step per epoch (epoch numbers start at 1)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [
        Metric(key, float(value), now, epoch)
        for epoch, row in enumerate(history, start=1)
        for key, value in row.items()
    ]
    for start in range(0, len(metrics), 1000):
        client().log_batch(run_id, metrics=metrics[start : start + 1000])


def log_artifact(run_id: str, path: Path, artifact_path: str | None = None) -> None:
    client().log_artifact(run_id, str(path), artifact_path)


def log_text(run_id: str, text: str, artifact_file: str) -> None:
    client().log_text(run_id, text, artifact_file)


def download(run_id: str, artifact_file: str, folder: Path) -> Path | None:
    """A run's artifact file into `folder` (the path), or None when the run has none."""
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    folder.mkdir(parents=True, exist_ok=True)
    try:
        found = Path(download_artifacts(run_id=run_id, artifact_path=artifact_file))
    except (MlflowException, OSError):
        return None
    target = folder / found.name
    shutil.copyfile(found, target)
    return target


def read_text(run_id: str, artifact_file: str) -> str | None:
    """A text artifact of a run, or None when the run has no such artifact."""
    import tempfile

    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as folder:
        try:
            path = download_artifacts(run_id=run_id, artifact_path=artifact_file, dst_path=folder)
        except (MlflowException, OSError):
            return None
        return Path(path).read_text()


def set_tags(run_id: str, tags: dict[str, str]) -> None:
    from mlflow.entities import RunTag

    client().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


def log_dataset(
    run_id: str, frame, name: str, source: str, data_version: str, target: str | None
) -> None:
    """Record the training data as the run's input (`log_input`); its digest is the data version."""
    from mlflow.entities import DatasetInput, InputTag

    import mlflow

    dataset = mlflow.data.from_pandas(
        frame, source=source, name=name, targets=target, digest=data_version[:36]
    )
    entry = DatasetInput(
        dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")]
    )
    client().log_inputs(run_id, datasets=[entry])
