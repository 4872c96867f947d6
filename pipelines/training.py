"""The training flow: per family, data → validation → training → registry → packaging."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from prefect import flow

from components.project import DlopsError, Project, setup_environment
from components.registry.versions import CHAMPION, alias_version
from components.settings import load_family, load_pipeline
from components.tracking import runs
from components.validation.gx_runner import ValidationFailed, require
from pipelines import steps


@dataclass
class FamilyOutcome:
    """One row of the pipeline's summary."""

    family: str
    status: str = "failed"
    message: str = ""
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


@flow(name="family-pipeline", flow_run_name="{family}", log_prints=True)
def family_pipeline(
    family: str, config: Path | None, overrides: list[str], experiment_id: str, parent_run_id: str
) -> FamilyOutcome:
    """One family through the whole chain; the outcome says how far it got."""
    project = Project.current()
    outcome = FamilyOutcome(family)
    try:
        settings = load_family(project, family, config, overrides)
        # data
        staged = steps.stage_data(project, settings)
        report = require(steps.validate_data(project, settings, staged))  # the gate
        outcome.data_version = steps.version_data(project, settings, staged)
        # training
        outcome.run_id = steps.train(
            project, settings, outcome.data_version, experiment_id, parent_run_id, report
        )
        outcome.metrics = steps.evaluate(project, settings, outcome.run_id)
        # registry
        outcome.version = steps.register(settings, outcome.run_id)
        decision = steps.gate(project, settings, outcome.version)
        # packaging
        outcome.bento = steps.package(settings)
    except ValidationFailed as exc:
        outcome.status, outcome.message = "validation failed", str(exc)
        outcome.docs = exc.report.docs_index
        return outcome
    except DlopsError as exc:
        outcome.message = str(exc)
        return outcome
    outcome.status = "ok"
    outcome.decision = "promoted" if decision.promote else "rejected"
    outcome.reason = decision.reason
    outcome.report = decision.report
    outcome.champion = alias_version(settings.model_name, CHAMPION)
    return outcome


@flow(name="dlops-training", log_prints=True)
def training_pipeline(
    families: list[str] | None = None,
    config: Path | None = None,
    overrides: list[str] | None = None,
) -> list[dict]:
    """Train, gate and package each family; one family's failure does not stop the others."""
    project = Project.current()
    setup_environment(project)
    pipeline = load_pipeline(project, config)
    families = families or pipeline.families
    experiment_id = runs.ensure_experiment(project, pipeline.experiment)
    parent_run_id = runs.start_pipeline_run(experiment_id, families)
    outcomes = []
    for family in families:
        state = family_pipeline(
            family, config, overrides or [], experiment_id, parent_run_id, return_state=True
        )
        outcome = (
            state.result()
            if state.is_completed()
            else FamilyOutcome(family, message=str(state.message or state.name))
        )
        runs.set_tags(parent_run_id, {f"outcome.{family}": outcome.status})
        outcomes.append(asdict(outcome))
    runs.end_run(parent_run_id, ok=all(o["status"] == "ok" for o in outcomes))
    return outcomes
