"""MLflow runs addressed by id (no fluent active-run state shared across tasks)."""

from __future__ import annotations

import json
import logging
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
    mlflow_client = client()
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is None:
        location = None
        if client().tracking_uri.startswith("sqlite:"):
            location = f"{project.artifact_root()}/{name}"
        experiment_id = mlflow_client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    mlflow_client.set_experiment_tag(experiment_id, tag.EXPERIMENT_KIND, "custom_model_development")
    return experiment_id


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def process_tags() -> dict[str, str]:
    """Which process owns a run: a run whose process died is found and ended by `reap`."""
    import psutil

    me = psutil.Process()
    return {
        tag.HOST: socket.gethostname(),
        tag.PID: str(me.pid),
        tag.PID_STARTED: f"{me.create_time():.3f}",
    }


def _owner_alive(tags: dict[str, str]) -> bool:
    import psutil

    try:
        process = psutil.Process(int(tags[tag.PID]))
        return f"{process.create_time():.3f}" == tags.get(tag.PID_STARTED)
    except psutil.AccessDenied:
        return True  # another user's live process
    except (psutil.Error, KeyError, ValueError):
        return False


def reap(experiment_id: str) -> list[str]:
    """End as KILLED the RUNNING runs whose process on this host is gone (SIGKILL, power loss).

    Runs of other hosts, and of live processes here, are left alone. Returns the ended run ids.
    """
    host = socket.gethostname()
    ended = []
    for run in client().search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{tag.HOST}` = '{host}'",
        max_results=1000,
    ):
        if not _owner_alive(run.data.tags):
            _end_killed(run.info.run_id)
            ended.append(run.info.run_id)
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
