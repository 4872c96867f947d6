"""Prefect tasks: thin wrappers that give each component step retries, logs and a run record.

Tasks take and return references (paths, versions, run ids), never models or tensors.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.data import ingest, versioning
from components.evaluation.evaluate import evaluate_run, model_uri_of
from components.packaging import bento
from components.project import Project
from components.registry import versions
from components.registry.gate import Decision
from components.registry.promotion import gate_and_promote
from components.settings import FamilySettings
from components.tasks import task_for
from components.tracking import runs
from components.tracking.lineage import LINEAGE_KEYS
from components.training.train import train_family
from components.validation.gx_runner import ValidationReport

# Side effects (files, runs, registry) are made idempotent by the components; no result caching.
step = task(cache_policy=NO_CACHE, persist_result=False)


@step
def stage_data(project: Project, settings: FamilySettings) -> Path:
    return ingest.stage(project, settings)


@step
def validate_data(project: Project, settings: FamilySettings, staged: Path) -> ValidationReport:
    return task_for(settings.family).validate(project, settings, staged)


@step(retries=2, retry_delay_seconds=2)
def version_data(project: Project, settings: FamilySettings, staged: Path) -> str:
    return versioning.commit(project, settings.family, staged)


@step
def train(
    project: Project,
    settings: FamilySettings,
    data_version: str,
    experiment_id: str,
    parent_run_id: str | None,
    report: ValidationReport,
) -> str:
    files = [Path(report.result_file)] if report.result_file else []
    return train_family(project, settings, data_version, experiment_id, parent_run_id, files)


@step
def evaluate(project: Project, settings: FamilySettings, run_id: str) -> dict[str, float]:
    return evaluate_run(project, settings, run_id)


@step(retries=2, retry_delay_seconds=2)
def register(settings: FamilySettings, run_id: str) -> str:
    tags = runs.client().get_run(run_id).data.tags
    lineage = {k: tags[k] for k in LINEAGE_KEYS}
    return versions.register(settings.model_name, model_uri_of(run_id), run_id, lineage)


@step
def gate(project: Project, settings: FamilySettings, version: str) -> Decision:
    return gate_and_promote(project, settings, version)


@step
def package(settings: FamilySettings) -> str | None:
    """Bento of the champion; None while the family has none (its first model was rejected)."""
    champion = versions.alias_version(settings.model_name, versions.CHAMPION)
    if champion is None:
        return None
    return bento.build_bento(settings, bento.import_version(settings, champion))
