"""`dlops schedule` on a real Prefect server: deployment created, triggered, completes; an
unchanged trigger skips training; new rows retrain and register a new version."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline_helpers import append_rows, registry_state, tiny_config, training_runs

pytestmark = pytest.mark.integration
DLOPS = str(Path(sys.executable).parent / "dlops")
DEPLOYMENT = "dlops-training/test-schedule"


def skipped_runs(family: str) -> list:
    from components.tracking.runs import client

    experiments = [e.experiment_id for e in client().search_experiments()]
    return client().search_runs(
        experiments, filter_string=f"tags.family = '{family}' and tags.skipped = 'unchanged'"
    )


def dlops_schedule(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`dlops schedule ARGS` as a process group of its own (it may start a Prefect server)."""
    return subprocess.Popen(
        [DLOPS, "schedule", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_deployment(process, timeout_s: float = 120):
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"dlops schedule exited: {process.stdout.read()[-3000:]}")
            try:
                return client.read_deployment_by_name(DEPLOYMENT)
            except Exception:
                time.sleep(0.5)
    raise RuntimeError("the deployment did not appear")


@pytest.fixture(scope="module")
def scheduled(first_run, prefect_server, tmp_path_factory):
    """`dlops schedule` serving mlp (a config of its own) on the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    config = tiny_config(tmp_path_factory.mktemp("schedule"), "  data: {split: {seed: 5}}\n")
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    process = dlops_schedule(
        ["--family", "mlp", "--config", str(config), "--cron", "0 3 * * 1"]
        + ["--name", "test-schedule"],
        env,
    )
    try:
        yield wait_for_deployment(process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def trigger():
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name=DEPLOYMENT, timeout=600, poll_interval=1)
    assert flow_run.state.is_completed(), flow_run.state
    return flow_run


def test_deployment_has_the_schedule_and_retrain_parameters(scheduled):
    [schedule] = scheduled.schedules
    assert schedule.schedule.cron == "0 3 * * 1" and schedule.active
    assert scheduled.parameters["only_if_changed"] is True
    assert scheduled.parameters["check_drift"] is True
    assert scheduled.parameters["families"] == ["mlp"]


def test_trigger_trains_then_skips_then_retrains_on_new_rows(scheduled, project):
    from components.data.versioning import current_version

    runs_before = len(training_runs("mlp"))
    trigger()  # a config never trained before: trains, registers
    assert len(training_runs("mlp")) == runs_before + 1
    state = registry_state("dlops-mlp")
    version = current_version(project, "mlp")

    skips = len(skipped_runs("mlp"))
    trigger()  # nothing changed
    assert len(skipped_runs("mlp")) == skips + 1
    assert len(training_runs("mlp")) == runs_before + 1
    assert registry_state("dlops-mlp") == state

    append_rows(project.data / "mlp" / "data.csv")
    trigger()
    assert len(training_runs("mlp")) == runs_before + 2
    after = registry_state("dlops-mlp")
    assert max(after["versions"]) == max(state["versions"]) + 1
    new_version = current_version(project, "mlp")
    assert new_version != version
    [latest] = sorted(training_runs("mlp"), key=lambda r: r.info.start_time)[-1:]
    assert latest.data.tags["data_version"] == new_version
    assert latest.info.status == "FINISHED"


def test_the_scheduled_run_checks_drift_and_retrains_what_drifted(scheduled, project):
    """Served inputs that moved retrain the family even though its data, config and code did
    not change; the ledger entry names the drift check; within the cool-down it is skipped."""
    from components.kinds.tabular_classification.data import breast_cancer
    from components.registry import ledger
    from components.runtime.input_log import InputLog, folder_of
    from components.tracking.runs import client

    champion = registry_state("dlops-mlp")["aliases"]["champion"]
    rows = breast_cancer().drop(columns="target").sample(400, random_state=0, replace=True)
    rows["mean_area"] *= 1.5  # a shifted feature
    log = InputLog(folder_of(project.served, "dlops-mlp", champion))
    log.record({name: rows[name].tolist() for name in rows.columns})
    log.close()

    runs_before, versions = len(training_runs("mlp")), registry_state("dlops-mlp")["versions"]
    trigger()
    assert len(training_runs("mlp")) == runs_before + 1  # retrained: nothing else changed
    [entry] = [e for e in ledger.entries("dlops-mlp") if int(e.version) > max(versions)]
    check = client().get_run(entry.cause.removeprefix("drift:"))
    assert entry.cause.startswith("drift:") and check.data.tags["drift.triggered"] == "true"
    assert "mean_area" in check.data.tags["drift.moved"].split(", ")

    skips = len(skipped_runs("mlp"))
    trigger()  # the champion drifted again, but within the cool-down: the usual skip
    assert len(skipped_runs("mlp")) == skips + 1


def test_bad_cron_is_refused_before_any_server_starts(project_env):
    result = subprocess.run(
        [DLOPS, "schedule", "--cron", "61 3 * * 1"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "not a cron expression" in result.stderr and "Traceback" not in result.stderr


def test_prefect_yaml_deploys_to_a_work_pool(prefect_server):
    """`prefect deploy --all` accepts prefect.yaml: pool, entrypoints, schedule, parameters.

    `retrain` takes its families from configs/pipeline.yaml (no second list) and starts each as
    a flow run of `family`, which runs from the pool's `families` queue.
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if k != "DLOPS_PROJECT_DIR"}
    env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    prefect = str(Path(sys.executable).parent / "prefect")
    repo = Path(__file__).resolve().parents[2]
    for command in (
        [prefect, "work-pool", "create", "dlops", "--type", "process"],
        [prefect, "--no-prompt", "deploy", "--all"],
    ):
        result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("dlops-training/retrain")
        family = client.read_deployment_by_name("family-pipeline/family")
    assert deployment.work_pool_name == family.work_pool_name == "dlops"
    assert deployment.entrypoint == "pipelines/training.py:training_pipeline"
    assert deployment.parameters["only_if_changed"] is True
    assert "families" not in deployment.parameters  # configs/pipeline.yaml's
    assert deployment.parameters["family_deployment"] == "family-pipeline/family"
    assert family.entrypoint == "pipelines/family.py:family_pipeline"
    assert family.work_queue_name == "families"
    [schedule] = deployment.schedules
    assert schedule.schedule.cron == "0 3 * * 1"
    [pull] = deployment.pull_steps
    directory = pull["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ $DLOPS_PROJECT_DIR }}"  # resolved on the worker, at run time


def test_without_a_server_schedule_starts_a_local_one_that_schedules_runs(project_env, tmp_path):
    """The default: a local `prefect server start` (scheduler included), stopped on exit."""
    import httpx

    from tests.pipeline_helpers import _free_port

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    process = dlops_schedule(["--family", "mlp", "--port", str(port)], env)
    try:
        deadline = time.monotonic() + 120
        scheduled = []
        while time.monotonic() < deadline and not scheduled:
            assert process.poll() is None, process.stdout.read()[-3000:]
            try:
                response = httpx.post(
                    f"{api}/flow_runs/filter",
                    json={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}},
                    timeout=5,
                )
                scheduled = response.json() if response.status_code == 200 else []
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert scheduled, "the local server's scheduler created no runs"
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200  # the UI
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)
