"""Prefect tasks: thin wrappers that give each component step retries, logs and a run record.

Tasks take and return references (paths, versions, run ids), never models or tensors. Every
step retries transient failures (`transient`) with the configured backoff (`with_retries`);
bad data, bad config and bugs fail at once.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from components import tags as tag
from components.config import load_family
from components.data import ingest, versioning
from components.drift.check import DriftResult
from components.drift.check import check as drift_check
from components.evaluation.evaluate import evaluate_run
from components.notifications import Notification, notify
from components.packaging import bento
from components.project import DlopsError, Project
from components.registry import ledger, versions
from components.registry.gate import Decision
from components.registry.promotion import gate_and_promote
from components.runtime.faults import fault_point
from components.settings import DriftSettings, FamilySettings, NotifySettings, RetrySettings
from components.tracking import fingerprint as fingerprints
from components.tracking import runs
from components.tracking.fingerprint import Fingerprint
from components.tracking.models import model_uri_of
from components.training.train import open_run, train_family
from components.validation import contract
from components.validation.gx_runner import ValidationFailed, ValidationReport

# Side effects (files, runs, registry) are made idempotent by the components; no result caching.
step = task(cache_policy=NO_CACHE, persist_result=False)

# Failures worth another try: network and storage I/O, a busy database, a server's 5xx.
TRANSIENT_NAMES = {
    "OperationalError",  # SQLAlchemy: database locked, connection dropped
    "ServiceUnavailable",
    "RemoteDisconnected",
    "UploadError",  # DVC: push / pull to a remote failed
    "DownloadError",
    "FileTransferError",
}
# OSErrors that another try cannot fix: the path or its permissions are wrong.
PERMANENT_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
MLFLOW_FAILED = re.compile(r"API request to \S+ failed with (exception|error code (\d+))")


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, PERMANENT_OS_ERRORS):
        return False
    if isinstance(exc, (OSError, TimeoutError)) or type(exc).__name__ in TRANSIENT_NAMES:
        return True
    match = MLFLOW_FAILED.search(str(exc))  # the tracking server did not answer, or a 5xx/429
    return bool(match) and (match[2] is None or match[2] == "429" or match[2].startswith("5"))


def transient(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is a network or storage failure.

    Bad data (`ValidationFailed`) is never transient, whatever caused it; neither are missing
    files or permissions. A `raise ... from None` hides its context, as in a traceback.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ValidationFailed):
            return False
        if _transient_one(exc):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return False


def _retry_condition(task, task_run, state) -> bool:
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and transient(exc)


@step
def stage_data(project: Project, settings: FamilySettings) -> Path:
    return ingest.stage(project, settings)


@step
def fingerprint(settings: FamilySettings, staged: Path) -> Fingerprint:
    """The family's fingerprint over the staged files (what would become its data)."""
    return fingerprints.of_folder(settings, staged)


@dataclasses.dataclass(frozen=True)
class Skip:
    """A family left as it is: the skip's MLflow run and the champion that stays."""

    run_id: str
    model_name: str
    champion: str | None


@step
def skip_if_unchanged(
    project: Project,
    family: str,
    config: Path | None,
    overrides: list[str],
    experiment_id: str,
    parent_run_id: str | None,
) -> Skip | None:
    """When the family's fingerprint equals its last success's, record a skip and return it.

    None when anything changed, or when the family cannot even be staged (bad settings, a
    missing source): its pipeline then runs and reports why.
    """
    try:
        settings = load_family(project, family, config, overrides)
        staged = ingest.stage(project, settings)
    except DlopsError:
        return None
    fingerprint = fingerprints.of_folder(settings, staged)
    ingest.unstage(staged)
    last = runs.last_successful_run(experiment_id, settings.model_name)
    if last is None or fingerprint.changes(last.data.tags):
        return None
    run_id = runs.record_skip(
        experiment_id,
        parent_run_id,
        family,
        settings.model_name,
        versioning.current_version(project, settings.data_key),
        {**fingerprint.tags(), tag.LAST_RUN: last.info.run_id},
    )
    return Skip(
        run_id, settings.model_name, versions.alias_version(settings.model_name, versions.CHAMPION)
    )


@step
def validate_data(
    project: Project, settings: FamilySettings, staged: Path, accept_change: str | None = None
) -> ValidationReport:
    """The kind's suite, and the model's data contract unless a change is accepted on purpose."""
    return contract.check(project, settings, staged, accept_change)


@step
def keep_contract(
    project: Project,
    settings: FamilySettings,
    profile: dict,
    data_version: str,
    accept_change: str | None,
) -> list[str]:
    """The model's first data becomes its contract; an accepted change replaces it (ledger)."""
    return contract.keep(project, settings, profile, data_version, accept_change, ledger.actor())


@step
def version_data(
    project: Project, settings: FamilySettings, staged: Path, fingerprint: Fingerprint
) -> tuple[str, Fingerprint]:
    """`dvc add` + push; the data part of the fingerprint is then read from DVC's manifest."""
    version = versioning.commit(project, settings.data_key, staged)
    entries = fingerprints.manifest_entries(project, settings.data_key)
    return version, dataclasses.replace(fingerprint, data=fingerprints.entries_digest(entries))


@step
def open_training_run(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    fingerprint: Fingerprint,
    experiment_id: str,
    parent_run_id: str | None,
    report: ValidationReport,
    cause: str = "",
) -> str:
    """Start the family's training run; the flow ends it (`close_run`, or on failure).

    `cause` (`drift:<run id>`) tags the run with what started it.
    """
    files = [Path(report.result_file)] if report.result_file else []
    run_id = open_run(
        project, settings, data_version, fingerprint, experiment_id, parent_run_id, files
    )
    runs.set_tags(run_id, {tag.FLOW_RUN: flow_run_id(), **({tag.CAUSE: cause} if cause else {})})
    return run_id


def flow_run_id() -> str:
    """The Prefect flow run this code runs in ("" outside one)."""
    from prefect.runtime import flow_run

    return str(flow_run.id or "")


def crash_flow_runs(run_ids: list[str]) -> list[str]:
    """Mark Crashed the Prefect flow runs that owned these (dead) MLflow runs, where still open.

    A killed process cannot report its own end: without this its flow run would show as
    Running forever (on a Prefect server, the zombie automation `dlops stack` creates does the
    same from missed heartbeats). Returns the flow run ids marked.
    """
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    owners = {runs.client().get_run(r).data.tags.get(tag.FLOW_RUN) for r in run_ids}
    marked = []
    with get_client(sync_client=True) as client:
        for owner in filter(None, owners):
            try:
                found = client.read_flow_run(UUID(owner))
            except (ObjectNotFound, ValueError):
                continue
            if found.state is None or not found.state.is_final():
                message = "its process is gone (found by the next dlops run)"
                client.set_flow_run_state(found.id, Crashed(message=message), force=True)
                marked.append(owner)
    return marked


@step
def train(project: Project, settings: FamilySettings, run_id: str) -> None:
    train_family(project, settings, run_id)


@step
def evaluate(project: Project, settings: FamilySettings, run_id: str) -> dict[str, float]:
    return evaluate_run(project, settings, run_id)


@step
def close_run(run_id: str) -> None:
    """The training run trained and was evaluated: FINISHED, ready to be registered."""
    runs.end_run(run_id, ok=True)


@step
def register(settings: FamilySettings, run_id: str) -> str:
    tags = runs.client().get_run(run_id).data.tags
    lineage = {k: tags[k] for k in tag.LINEAGE_KEYS}
    return versions.register(settings.model_name, model_uri_of(run_id), run_id, lineage)


@step
def gate(project: Project, settings: FamilySettings, version: str, cause: str = "") -> Decision:
    return gate_and_promote(project, settings, version, cause)


@step
def package(settings: FamilySettings, version: str) -> str:
    """The new version into the BentoML store and its Bento, before the gate moves anything.

    A packaging failure then fails the run with no alias moved.
    """
    model_tag = bento.import_version(settings, version)
    fault_point("while-packaging")
    return bento.build_bento(settings, model_tag)


def record_failure(
    project: Project, settings: FamilySettings, version: str, exc: BaseException
) -> None:
    """A registered version whose run failed before the gate: a ledger entry, the version gone.

    Never raises: the error that failed the run is the one to report.
    """
    from components.registry.promotion import record_failure as record

    try:
        record(project, settings, version, f"{type(exc).__name__}: {exc}"[:500])
    except Exception as error:
        print(f"{settings.model_name} v{version}: the failure was not recorded ({error})")


@step
def package_champion(settings: FamilySettings) -> str | None:
    """The champion's Bento (built already when the new version won); None without one."""
    champion = versions.alias_version(settings.model_name, versions.CHAMPION)
    if champion is None:
        return None
    # an older champion (this version was rejected) is packaged with its own settings
    own = versions.version_settings(settings.model_name, champion, lambda: settings)
    return bento.build_bento(own, bento.import_version(own, champion))


@step
def check_drift(
    project: Project, settings: FamilySettings, drift: DriftSettings
) -> DriftResult | None:
    """The drift check of the model's champion (an MLflow run), or None.

    None when there is nothing to check: no champion yet, or a kind without drift checks.
    """
    try:
        return drift_check(project, settings, drift)
    except DlopsError as exc:
        print(f"{settings.model_name}: no drift check ({exc})")
        return None


def drift_notification(result: DriftResult) -> Notification:
    """The `drift_detected` event of a check that found drift."""
    return Notification(
        event="drift_detected",
        family=result.family,
        model_name=result.model_name,
        version=result.version,
        champion=result.version,
        run_id=result.run_id,
        reason=f"{result.summary()}; {result.reason}",
        report=result.plot,
    )


def checked_for_drift(
    project: Project, settings: FamilySettings, drift: DriftSettings, hooks: NotifySettings
) -> DriftResult | None:
    """Check the champion for drift; tell the hooks when it drifted. The result, or None."""
    result = check_drift(project, settings, drift)
    if result is not None:
        print(result.summary() + (f": {result.reason}" if result.reason else ""))
        if result.drifted:
            announce(hooks, drift_notification(result))
    return result


@step
def announce(settings: NotifySettings, notification: Notification) -> list[str]:
    """Call the notification hooks; their failures are logged, never raised."""
    return notify(settings, notification)


@dataclasses.dataclass(frozen=True)
class Steps:
    """The pipeline's steps, each with the run's retry policy (`with_retries`)."""

    stage_data: Task
    fingerprint: Task
    skip_if_unchanged: Task
    validate_data: Task
    version_data: Task
    keep_contract: Task
    open_training_run: Task
    train: Task
    evaluate: Task
    close_run: Task
    register: Task
    gate: Task
    package: Task
    package_champion: Task


def with_retries(retries: RetrySettings) -> Steps:
    """Every step but the gate retried on transient failures: `retries.attempts` times."""
    options = {
        "retries": retries.attempts,
        "retry_delay_seconds": retries.delays() or 0,
        "retry_condition_fn": _retry_condition,
    }
    return Steps(
        stage_data=stage_data.with_options(**options),
        fingerprint=fingerprint.with_options(**options),
        skip_if_unchanged=skip_if_unchanged.with_options(**options),
        validate_data=validate_data.with_options(**options),
        version_data=version_data.with_options(**options),
        keep_contract=keep_contract,  # not retried: it may append to the ledger
        open_training_run=open_training_run.with_options(**options),
        train=train.with_options(**options),
        evaluate=evaluate.with_options(**options),
        close_run=close_run.with_options(**options),
        register=register.with_options(**options),
        gate=gate,  # not retried: it appends to the ledger, a retry could record twice
        package=package.with_options(**options),
        package_champion=package_champion.with_options(**options),
    )
