"""The training flow: per family, data → validation → training → registry → packaging.

No `from __future__ import annotations` here: Prefect builds the flows' parameter models from
these annotations, also in the subprocess a served deployment runs them in.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

from prefect import flow

from components import tags as tag
from components.config import load_family, load_pipeline
from components.evaluation.evaluate import verdict
from components.notifications import Notification
from components.project import DlopsError, Project, setup_environment
from components.registry.versions import CHAMPION, alias_version, discard_ungated
from components.settings import RetrySettings, default_model_name
from components.tracking import runs
from components.validation.gx_runner import ValidationFailed, require
from pipelines import steps


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
) -> FamilyOutcome:
    """One family through the whole chain; the outcome says how far it got.

    `cause` (`drift:<run id>`) tags the training run and its ledger entry with what started it.
    """
    project = Project.current()
    outcome = FamilyOutcome(family)
    step = steps.with_retries(retries or RetrySettings())
    try:
        settings = load_family(project, family, config, overrides)
        outcome.model_name = settings.model_name
        # data
        staged = step.stage_data(project, settings)
        fingerprint = step.fingerprint(settings, staged)
        report = require(  # the gate: the kind's suite and the model's data contract
            step.validate_data(project, settings, staged, accept_data_change)
        )
        outcome.data_version, fingerprint = step.version_data(
            project, settings, staged, fingerprint
        )
        step.keep_contract(
            project, settings, report.profile, outcome.data_version, accept_data_change
        )
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
        # registry
        outcome.version = step.register(settings, outcome.run_id)
        decision = step.gate(project, settings, outcome.version, cause)
        # packaging
        outcome.bento = step.package(settings)
        step.mark_succeeded(outcome.run_id)
    except BaseException as exc:
        if outcome.run_id is not None:  # the one place a failed or interrupted run is ended
            runs.end_failed(outcome.run_id, exc)
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
        project.remember_model(family, settings.model_name)
    return outcome


def _drift_cause(project: Project, pipeline, family: str, config, overrides) -> dict[str, str]:
    """{family: `drift:<run id>`} when the family's champion drifted enough to retrain."""
    try:
        settings = load_family(project, family, config, overrides)
    except DlopsError:
        return {}  # the family's pipeline reports its settings
    try:
        result = steps.checked_for_drift(project, settings, pipeline.drift, pipeline.notify)
    except Exception as exc:  # a failed check never stops the scheduled retrain
        print(f"{family}: the drift check failed ({type(exc).__name__}: {exc}); not checked")
        return {}
    return {family: f"drift:{result.run_id}"} if result and result.triggered else {}


@flow(name="dlops-training", log_prints=True)
def training_pipeline(
    families: list[str] | None = None,
    config: Path | None = None,
    overrides: list[str] | None = None,
    only_if_changed: bool = False,
    accept_data_change: str | None = None,
    causes: dict[str, str] | None = None,
    check_drift: bool = False,
) -> list[dict]:
    """Train, gate and package each family; one family's failure does not stop the others.

    `only_if_changed=True` (`dlops retrain`, `dlops schedule`) retrains only the families whose
    data, config or code changed since their last successful run. `accept_data_change` (a
    reason) lets data through that breaks its model's contract, and records it in the ledger.
    `causes` (family → `drift:<run id>`) says what started a family's retrain; `check_drift`
    (`dlops schedule`) first checks each champion's served inputs for drift, and drift
    retrains the family even when nothing else changed.
    """
    project = Project.current()
    setup_environment(project)
    pipeline = load_pipeline(project, config)
    families = families or pipeline.families
    experiment_id = runs.ensure_experiment(project, pipeline.experiment)
    for run_id in runs.reap(experiment_id):  # killed processes' runs: KILLED, not RUNNING
        discard_ungated(run_id)  # and no version the gate never judged
    parent_run_id = runs.start_pipeline_run(
        experiment_id, families, {tag.ONLY_IF_CHANGED: str(only_if_changed).lower()}
    )
    skip_if_unchanged = steps.with_retries(pipeline.retries).skip_if_unchanged
    outcomes = []
    causes = dict(causes or {})
    try:
        for family in families:
            if check_drift and family not in causes:
                causes |= _drift_cause(project, pipeline, family, config, overrides or [])
            # a check that fails leaves the decision to the family's pipeline, which reports it
            checked = (
                only_if_changed
                and family not in causes
                and skip_if_unchanged(
                    project,
                    family,
                    config,
                    overrides or [],
                    experiment_id,
                    parent_run_id,
                    return_state=True,
                )
            )
            if checked and checked.is_completed() and (skip := checked.result()):
                outcome = FamilyOutcome.skipped(family, skip)
            else:
                state = family_pipeline(
                    family,
                    config,
                    overrides or [],
                    experiment_id,
                    parent_run_id,
                    pipeline.retries,
                    accept_data_change,
                    causes.get(family, ""),
                    return_state=True,
                )
                outcome = (
                    state.result()
                    if state.is_completed()
                    else FamilyOutcome(family, message=str(state.message or state.name))
                )
            runs.set_tags(parent_run_id, {f"outcome.{family}": outcome.status})
            if (notification := outcome.notification()) is not None:
                steps.announce(pipeline.notify, notification)
            outcomes.append(asdict(outcome))
    except BaseException as exc:
        runs.end_run(parent_run_id, ok=False, status="KILLED" if runs.interrupted(exc) else None)
        raise
    runs.end_run(parent_run_id, ok=all(o["status"] in ("ok", "skipped") for o in outcomes))
    return outcomes
