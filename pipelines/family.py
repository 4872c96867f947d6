"""One family's flow: data → validation → training → registry → packaging.

A flow run of its own, wherever it runs: in this process, in a process of the local pool
(`dlops run` trains families at once), or on a work-pool worker (`prefect.yaml`'s per-family
deployment). Only one run of a model goes through it at a time, on every machine: a Prefect
global concurrency limit per model, held on the Prefect server.

No `from __future__ import annotations` here: Prefect builds the flow's parameter model from
these annotations, also in the subprocess a deployment runs it in.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from prefect import flow

from components.config import load_family
from components.data import ingest
from components.evaluation.evaluate import verdict
from components.notifications import Notification
from components.project import DlopsError, Project, setup_environment
from components.registry.versions import CHAMPION, alias_version, make_default
from components.runtime.faults import fault_point
from components.settings import RetrySettings, default_model_name
from components.tracking import runs
from components.validation.gx_runner import ValidationFailed, require
from pipelines import steps

OUTCOMES = "outcomes"  # artifact folder of the pipeline run: one JSON outcome per family


@dataclass
class FamilyOutcome:
    """One row of the pipeline's summary."""

    family: str
    status: str = "failed"  # ok | skipped | validation failed | failed
    message: str = ""
    model_name: str | None = None
    data_version: str | None = None
    run_id: str | None = None
    metrics: dict[str, float] | None = None
    version: str | None = None
    champion: str | None = None
    decision: str | None = None
    reason: str | None = None
    bento: str | None = None
    docs: str | None = None
    report: str | None = None
    verdict: str | None = None  # the metrics beside the kind's baselines, in words

    @classmethod
    def skipped(cls, family: str, skip: steps.Skip) -> "FamilyOutcome":
        """Nothing changed since the last successful run: the skip's record."""
        return cls(
            family,
            status="skipped",
            message="unchanged since the last successful run: not retrained",
            model_name=skip.model_name,
            run_id=skip.run_id,
            champion=skip.champion,
        )

    def notification(self) -> Notification | None:
        """What the hooks are told: promoted, rejected, validation failed or failed."""
        if self.status == "skipped":
            return None
        event = {"ok": self.decision, "validation failed": "validation_failed"}.get(
            self.status, "failed"
        )
        return Notification(
            event=event,
            family=self.family,
            model_name=self.model_name or default_model_name(self.family),
            version=self.version,
            champion=self.champion,
            data_version=self.data_version,
            run_id=self.run_id,
            reason=self.reason or self.message,
            report=self.report or self.docs,
        )


def recorded_outcome(parent_run_id: str, family: str) -> FamilyOutcome | None:
    """The outcome a family's flow run recorded on the pipeline run (None if it recorded none).

    How the pipeline learns what a flow run on a worker (another machine) did.
    """
    text = runs.read_text(parent_run_id, f"{OUTCOMES}/{family}.json")
    return None if text is None else FamilyOutcome(**json.loads(text))


@contextmanager
def model_turn(project: Project, model_name: str, on_server: bool) -> Iterator[None]:
    """One run of `model_name` at a time: a second run of the model waits here for the first.

    `on_server` (flow runs of a deployment, on work-pool workers): across every worker, on the
    Prefect server's global concurrency limit of one slot per model (`dlops-model-<name>`, made
    on first use, visible in the Prefect UI under Concurrency); the slot is leased, and a
    server frees a killed run's slot within about a minute. Otherwise (`dlops run`, whose
    Prefect server may be a temporary one, which frees no slot) across the processes of this
    checkout, on a file lock that the system releases when its process dies.
    """
    if not on_server:
        from filelock import FileLock

        locks = project.work / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with FileLock(str(locks / f"model-{model_name}.lock")):
            yield
        return
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = f"dlops-model-{model_name}"
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    with concurrency(name, occupy=1, lease_duration=60, strict=True):
        yield


@flow(name="family-pipeline", flow_run_name="{family}", log_prints=True)
def family_pipeline(
    family: str,
    config: Path | None,
    overrides: list[str],
    experiment_id: str,
    parent_run_id: str,
    retries: RetrySettings | None = None,
    accept_data_change: str | None = None,
    cause: str = "",
    server_turns: bool = True,
) -> FamilyOutcome:
    """One family through the whole chain; the outcome says how far it got.

    `cause` (`drift:<run id>`) tags the training run and its ledger entry with what started it.
    `server_turns`: runs of one model take turns on the Prefect server's concurrency limit (on
    workers: the default for the deployment), else on this checkout's file lock (`model_turn`).
    The outcome is also recorded on the pipeline run (`outcomes/<family>.json`).
    """
    project = Project.current()
    setup_environment(project)
    outcome = _through_the_chain(
        project,
        family,
        config,
        overrides,
        experiment_id,
        parent_run_id,
        retries or RetrySettings(),
        accept_data_change,
        cause,
        server_turns,
    )
    runs.log_text(parent_run_id, json.dumps(asdict(outcome)), f"{OUTCOMES}/{family}.json")
    return outcome


def _through_the_chain(
    project: Project,
    family: str,
    config: Path | None,
    overrides: list[str],
    experiment_id: str,
    parent_run_id: str,
    retries: RetrySettings,
    accept_data_change: str | None,
    cause: str,
    server_turns: bool,
) -> FamilyOutcome:
    outcome = FamilyOutcome(family)
    step = steps.with_retries(retries)
    staged = decision = None
    try:
        settings = load_family(project, family, config, overrides)
        outcome.model_name = settings.model_name
        with model_turn(project, settings.model_name, server_turns):
            # data
            staged = step.stage_data(project, settings)
            fingerprint = step.fingerprint(settings, staged)
            report = require(  # the gate: the kind's suite and the model's data contract
                step.validate_data(project, settings, staged, accept_data_change)
            )
            fault_point("after-validation")
            outcome.data_version, fingerprint = step.version_data(
                project, settings, staged, fingerprint
            )
            fault_point("after-data-version")
            step.keep_contract(
                project, settings, report.profile, outcome.data_version, accept_data_change
            )
            ingest.unstage(staged)  # versioned: data/<key> holds the files now
            # training: the flow owns the run from here until close_run
            outcome.run_id = step.open_training_run(
                project,
                settings,
                outcome.data_version,
                fingerprint,
                experiment_id,
                parent_run_id,
                report,
                cause,
            )
            step.train(project, settings, outcome.run_id)
            outcome.metrics = step.evaluate(project, settings, outcome.run_id)
            outcome.verdict = verdict(settings, outcome.metrics)
            step.close_run(outcome.run_id)
            # registry and packaging: the new version packaged before the gate moves anything
            outcome.version = step.register(settings, outcome.run_id)
            fault_point("after-registration")
            outcome.bento = step.package(settings, outcome.version)
            decision = step.gate(project, settings, outcome.version, cause)  # the commit point
            outcome.bento = step.package_champion(settings)
    except BaseException as exc:
        if staged is not None:
            ingest.unstage(staged)
        if outcome.run_id is not None:  # the one place a failed or interrupted run is ended
            runs.end_failed(outcome.run_id, exc)
        if outcome.version is not None and decision is None and not runs.interrupted(exc):
            steps.record_failure(project, settings, outcome.version, exc)
        if isinstance(exc, ValidationFailed):
            outcome.status, outcome.message = "validation failed", str(exc)
            outcome.docs = exc.report.docs_index
            return outcome
        if isinstance(exc, DlopsError):
            outcome.message = str(exc)
            return outcome
        raise
    outcome.status = "ok"
    outcome.decision = "promoted" if decision.promote else "rejected"
    outcome.reason = decision.reason
    outcome.report = decision.report
    outcome.champion = alias_version(settings.model_name, CHAMPION)
    if outcome.champion is not None:  # the family's default model from now on
        make_default(settings.model_name)
    return outcome
