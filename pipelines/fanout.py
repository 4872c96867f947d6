"""Families at once, on Prefect's own engines.

Each family is a flow run of its own (`family-pipeline`). Where it runs:
- on work-pool workers, when the pipeline names a per-family deployment (`prefect.yaml`): one
  flow run per family, so N workers on N machines train N families at once;
- else in a process pool of this machine (Prefect's `ProcessPoolTaskRunner`), every family at
  once by default (`parallel` in configs/pipeline.yaml), the CPU's torch threads split between
  the processes so that the cores are not oversubscribed;
- a single family runs in this process.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.settings import RetrySettings
from components.tracking import runs
from pipelines.family import FamilyOutcome, family_pipeline, recorded_outcome


@dataclasses.dataclass(frozen=True)
class Job:
    """What one family's flow run is given: references and settings, nothing heavy."""

    family: str
    config: Path | None
    overrides: list[str]
    experiment_id: str
    parent_run_id: str
    retries: RetrySettings
    accept_data_change: str | None = None
    cause: str = ""
    server_turns: bool = True  # a real Prefect server (see `family.model_turn`)

    def parameters(self) -> dict:
        return {
            "family": self.family,
            "config": self.config,
            "overrides": self.overrides,
            "experiment_id": self.experiment_id,
            "parent_run_id": self.parent_run_id,
            "retries": self.retries,
            "accept_data_change": self.accept_data_change,
            "cause": self.cause,
            "server_turns": self.server_turns,
        }

    def failed(self, message: str) -> FamilyOutcome:
        return FamilyOutcome(self.family, message=message)


def run_here(job: Job) -> FamilyOutcome:
    """The family's flow run in this process; a crash becomes a failed outcome."""
    state = family_pipeline(**job.parameters(), return_state=True)
    if state.is_completed():
        return state.result()
    return job.failed(str(state.message or state.name))


@task(name="train-family", task_run_name="{job.family}", cache_policy=NO_CACHE)
def train_in_process(job: Job) -> FamilyOutcome:
    """The family's flow run, in a process of the pool (marked busy in the core share)."""
    from components.runtime.device import SHARE_ENV

    marker = Path(os.environ[SHARE_ENV]) / str(os.getpid())
    marker.touch()
    try:
        return run_here(job)
    finally:
        marker.unlink(missing_ok=True)


@task(name="train-family-on-worker", task_run_name="{job.family}", cache_policy=NO_CACHE)
def train_on_worker(deployment: str, job: Job) -> FamilyOutcome:
    """The family's flow run on a work-pool worker; waits for it to end.

    A worker may be another machine: what it did is read back from the pipeline's MLflow run
    (`outcomes/<family>.json`), not from this process's memory.
    """
    from prefect.deployments import run_deployment

    parameters = {**job.parameters(), "config": str(job.config) if job.config else None}
    for _ in range(1 + CRASH_RERUNS):
        flow_run = run_deployment(deployment, parameters=parameters, timeout=None, as_subflow=True)
        if not (flow_run.state and flow_run.state.is_crashed()):
            break
        # its worker died: its training run ends KILLED, and the next flow run (on whichever
        # worker takes it) resumes from that run's shared checkpoint
        runs.end_runs_of(job.experiment_id, str(flow_run.id))
    recorded = recorded_outcome(job.parent_run_id, job.family)
    if recorded is not None:
        return recorded
    state = flow_run.state
    return job.failed(
        f"flow run {flow_run.name} of {deployment}: "
        f"{state.name if state else 'no state'} {state.message if state else ''}".strip()
    )


CRASH_RERUNS = 1  # a family's flow run whose worker died is started once more


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _threads(count: int, share: str) -> None:
    """A pool process's initializer: its share of the cores as torch threads.

    `share` is the folder where the processes training now are counted: the share is updated
    before each epoch as families finish.
    """
    from components.runtime.device import SHARE_ENV, use_threads

    os.environ[SHARE_ENV] = share
    use_threads(count)


def train_families(
    jobs: list[Job], parallel: int | None, deployment: str | None = None
) -> list[FamilyOutcome]:
    """Every job's family through its chain, at once; the outcomes in the jobs' order."""
    if deployment:
        futures = [train_on_worker.submit(deployment, job) for job in jobs]
    else:
        workers = min(parallel or len(jobs), len(jobs))
        if workers <= 1:
            return [run_here(job) for job in jobs]
        return _in_processes(jobs, workers)
    return [_outcome(future, job) for future, job in zip(futures, jobs, strict=True)]


def _in_processes(jobs: list[Job], workers: int) -> list[FamilyOutcome]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.task_runners import ProcessPoolTaskRunner

    with get_client(sync_client=True) as client:  # this flow's server: a temporary one too
        api_url = str(client.api_url)
    threads = max(1, cores() // workers)
    with (
        tempfile.TemporaryDirectory(prefix="dlops-cores-") as share,
        temporary_settings({PREFECT_API_URL: api_url}),  # the pool's processes report to it
        ProcessPoolTaskRunner(
            max_workers=workers, initializer=_threads, initargs=(threads, share)
        ) as runner,
    ):
        futures = [runner.submit(train_in_process, parameters={"job": job}) for job in jobs]
        return [_outcome(future, job) for future, job in zip(futures, jobs, strict=True)]


def _outcome(future, job: Job) -> FamilyOutcome:
    try:
        return future.result()
    except Exception as exc:  # the task itself failed (its process died): the family failed
        return job.failed(f"{type(exc).__name__}: {exc}")
