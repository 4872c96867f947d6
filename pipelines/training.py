"""The training flow: each family's flow run (`pipelines/family.py`), all at once, and a summary.

No `from __future__ import annotations` here: Prefect builds the flows' parameter models from
these annotations, also in the subprocess a served deployment runs them in.
"""

from dataclasses import asdict
from pathlib import Path

from prefect import flow

from components import tags as tag
from components.config import load_family, load_pipeline
from components.project import DlopsError, Project, setup_environment
from components.registry.repair import settle_all
from components.registry.versions import discard_ungated
from components.tracking import runs
from pipelines import steps
from pipelines.family import FamilyOutcome
from pipelines.fanout import Job, train_families


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


def _unchanged(
    families: list[str],
    causes: dict[str, str],
    retries,
    config: Path | None,
    overrides: list[str],
    experiment_id: str,
    parent_run_id: str,
) -> dict[str, steps.Skip]:
    """The families whose fingerprint equals their last success's (a skip run records each).

    A family with a cause (drift) is never skipped; a check that fails leaves the decision to
    the family's flow run, which reports it.
    """
    skip_if_unchanged = steps.with_retries(retries).skip_if_unchanged
    skips = {}
    for family in families:
        if family in causes:
            continue
        state = skip_if_unchanged(
            Project.current(),
            family,
            config,
            overrides,
            experiment_id,
            parent_run_id,
            return_state=True,
        )
        if state.is_completed() and (skip := state.result()):
            skips[family] = skip
    return skips


@flow(name="dlops-training", log_prints=True)
def training_pipeline(
    families: list[str] | None = None,
    config: Path | None = None,
    overrides: list[str] | None = None,
    only_if_changed: bool = False,
    accept_data_change: str | None = None,
    causes: dict[str, str] | None = None,
    check_drift: bool = False,
    family_deployment: str | None = None,
) -> list[dict]:
    """Train, gate and package each family; one family's failure does not stop the others.

    Families train at once, each a `family-pipeline` flow run: in a process pool here, or, with
    `family_deployment` (a deployment of `family_pipeline`, e.g. `family-pipeline/family` from
    prefect.yaml), on that deployment's work-pool workers. Default families: configs/pipeline.yaml.
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
    families = list(dict.fromkeys(families or pipeline.families))  # each family once
    overrides = overrides or []
    experiment_id = runs.ensure_experiment(project, pipeline.experiment)
    settle_all()  # decisions a killed process left half-applied are applied first;
    reaped = runs.reap(experiment_id)  # killed processes' runs: KILLED, not RUNNING,
    for run_id in reaped:
        discard_ungated(run_id)  # no version the gate never judged,
    steps.crash_flow_runs(reaped)  # and their Prefect flow runs Crashed
    parent_run_id = runs.start_pipeline_run(
        experiment_id,
        families,
        {tag.ONLY_IF_CHANGED: str(only_if_changed).lower(), tag.FLOW_RUN: steps.flow_run_id()},
    )
    causes = dict(causes or {})
    try:
        # what to train: drifted champions, then whatever changed
        for family in families if check_drift else []:
            if family not in causes:
                causes |= _drift_cause(project, pipeline, family, config, overrides)
        skips = (
            _unchanged(
                families, causes, pipeline.retries, config, overrides, experiment_id, parent_run_id
            )
            if only_if_changed
            else {}
        )
        # training: each family a flow run of its own, all at once; runs of one model take
        # turns on the server's concurrency limit on workers, on a file lock in a checkout
        server_turns = family_deployment is not None
        jobs = [
            Job(
                family,
                config,
                overrides,
                experiment_id,
                parent_run_id,
                pipeline.retries,
                accept_data_change,
                causes.get(family, ""),
                server_turns,
            )
            for family in families
            if family not in skips
        ]
        trained = train_families(jobs, pipeline.parallel, family_deployment)
        by_family = {o.family: o for o in trained}
        outcomes = [
            FamilyOutcome.skipped(f, skips[f]) if f in skips else by_family[f] for f in families
        ]
        # the record: each outcome on the pipeline run, and to the hooks
        for outcome in outcomes:
            runs.set_tags(parent_run_id, {f"outcome.{outcome.family}": outcome.status})
            if (notification := outcome.notification()) is not None:
                steps.announce(pipeline.notify, notification)
    except BaseException as exc:
        runs.end_run(parent_run_id, ok=False, status="KILLED" if runs.interrupted(exc) else None)
        raise
    runs.end_run(parent_run_id, ok=all(o.status in ("ok", "skipped") for o in outcomes))
    return [asdict(o) for o in outcomes]
