"""The team stack, for real: `dlops stack up` (PostgreSQL, MLflow and Prefect servers on it, a
process worker, moto's S3 server as the DVC remote), then what README's "From one laptop to a
cluster" says: a deployment run trains on the worker, a second checkout sees, restores, trains,
promotes, rolls back and serves the same model, and a bad remote is refused before anything."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.registry.ledger import Entry, broken_links
from tests.conftest import make_project
from tests.pipeline_helpers import REPO, tiny_config

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
DLOPS = str(BIN / "dlops")
# settings of the session's own project that must not reach the stack's clients
OURS = ("MLFLOW_TRACKING_URI", "PREFECT_API_URL", "DLOPS_PROJECT_DIR", "BENTOML_HOME")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checkout(folder: Path, remote: Path) -> Path:
    """A checkout of the project: configs, prefect.yaml and the code a worker loads flows from."""
    make_project(folder, remote)
    for name in ("components", "pipelines", "serving"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "prefect.yaml", folder)
    return folder


class Stack:
    """The running stack and how to act as a user of one checkout of it."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env

    def client_env(self, root: Path) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if k not in OURS},
            **self.env,
            "DLOPS_PROJECT_DIR": str(root),
            "BENTOML_HOME": str(root / ".bentoml"),
            "PREFECT_HOME": str(self.folder / "client-prefect-home"),
            "COLUMNS": "200",
        }

    def dlops(self, root: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [DLOPS, *args],
            env=self.client_env(root),
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, root: Path, *args: str) -> subprocess.Popen:
        """`dlops ARGS` in `root`, not waited for."""
        return subprocess.Popen(
            [DLOPS, *args],
            env=self.client_env(root),
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def mlflow(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.env["MLFLOW_TRACKING_URI"])

    def flow_runs(self, flow_name: str) -> list[dict]:
        import httpx

        api = self.env["PREFECT_API_URL"]
        flows = {f["id"]: f["name"] for f in httpx.post(f"{api}/flows/filter", json={}).json()}
        found = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}).json()
        return [r for r in found if flows.get(r["flow_id"]) == flow_name]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from pipelines.stack import find_postgres

    if find_postgres() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine: the stack needs them")
    base = tmp_path_factory.mktemp("stack")
    first = checkout(base / "first", base / "unused-remote")
    folder = base / "state"
    ports = {f"--{name}-port": str(free_port()) for name in ("mlflow", "prefect", "s3", "postgres")}
    up = subprocess.run(
        [DLOPS, "stack", "up", "--dir", str(folder), "--workers", "1"]
        + [item for pair in ports.items() for item in pair],
        env={
            **{k: v for k, v in os.environ.items() if k not in OURS},
            "DLOPS_PROJECT_DIR": str(first),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in up.stdout.splitlines()
            if line.startswith("export ")
        )
        assert set(exports) == {
            "MLFLOW_TRACKING_URI",
            "PREFECT_API_URL",
            "DLOPS_REGISTRY_DATABASE_URL",
        }
        running = Stack(folder, exports)
        running.first = first
        running.config = tiny_config(base)
        yield running
    finally:
        down = subprocess.run(
            [DLOPS, "stack", "down", "--dir", str(folder)], capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr
        assert not (folder / "stack.json").exists()


def test_the_stack_runs_on_postgresql(stack):
    result = stack.dlops(stack.first, "stack", "status", "--dir", str(stack.folder), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["service"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"postgres", "s3", "mlflow", "prefect", "worker-1"}
    assert all(row["alive"] == "true" for row in rows.values())
    log = (stack.folder / "logs" / "mlflow.log").read_text()
    assert "postgresql" in json.dumps(rows["postgres"]) and "Traceback" not in log


def test_a_deployment_run_trains_a_family_on_the_worker(stack):
    """`prefect deploy --all` + a run of `retrain`: the family is a flow run on the worker."""
    env = stack.client_env(stack.first)
    env.pop("DLOPS_PROJECT_DIR")  # prefect.yaml's pull step reads the worker's, at run time
    deploy = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", "deploy", "--all"],
        cwd=stack.first,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    parameters = {"families": ["mlp"], "config": str(stack.config), "only_if_changed": False}
    run = subprocess.run(
        [str(BIN / "prefect"), "deployment", "run", "dlops-training/retrain"]
        + ["--params", json.dumps(parameters), "--watch", "--watch-timeout", "400"],
        env=env,
        capture_output=True,
        text=True,
        timeout=450,
    )
    assert run.returncode == 0 and "Completed" in run.stdout, run.stdout[-3000:] + run.stderr
    [family_run] = stack.flow_runs("family-pipeline")
    assert family_run["state_type"] == "COMPLETED" and family_run["name"] == "mlp"
    assert family_run["work_queue_name"] == "families"  # a flow run of its own, on the pool
    client = stack.mlflow()
    model = client.get_registered_model("dlops-mlp")
    assert model.aliases == {"champion": "1", "challenger": "1"}
    assert "dlops.default_since" in model.tags  # the family's default, kept on the server
    version = client.get_model_version("dlops-mlp", "1")
    assert version.tags["gate.decision"] == "promoted"
    # the data version went to the S3 remote
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=stack_s3(stack),
        aws_access_key_id="dlops-stack",
        aws_secret_access_key="dlops-stack",
        region_name="us-east-1",
    )
    data_version = version.tags["data_version"].removesuffix(".dir")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="dlops", Prefix="dvc/")["Contents"]]
    assert f"dvc/files/md5/{data_version[:2]}/{data_version[2:]}.dir" in keys


def stack_s3(stack) -> str:
    state = json.loads((stack.folder / "stack.json").read_text())
    return state["s3_endpoint"]


def test_a_second_checkout_sees_restores_trains_promotes_and_serves(stack, tmp_path):
    second = checkout(tmp_path / "second", tmp_path / "unused-remote")
    joined = stack.dlops(second, "stack", "join", "--dir", str(stack.folder))
    assert joined.returncode == 0, joined.stderr
    status = stack.dlops(second, "status", "--json", "--model", "dlops-mlp")
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)
    assert row["champion_version"] == "1" and row["default"] is True
    history = json.loads(stack.dlops(second, "history", "mlp", "--json").stdout)
    assert [e["action"] for e in history] == ["first"]
    assert history[0]["report"].startswith(f"runs:/{history[0]['run_id']}/")
    # its data, from the S3 remote (this checkout has neither the folder nor the cache)
    restored = tmp_path / "restored"
    lineage = stack.dlops(second, "lineage", "dlops-mlp@1", "--restore", str(restored), "--json")
    assert lineage.returncode == 0, lineage.stderr
    assert (restored / "data.csv").read_bytes() == (stack.first / "data/mlp/data.csv").read_bytes()
    # both checkouts train the model at once: each run ends well with a version of its own
    twins = [
        stack.start(root, "run", "--family", "mlp", "--config", str(stack.config))
        for root in (stack.first, second)
    ]
    for twin in twins:
        out, err = twin.communicate(timeout=400)
        assert twin.returncode == 0, out[-3000:] + err
    found = stack.mlflow().search_model_versions("name='dlops-mlp'")
    assert sorted(int(v.version) for v in found) == [1, 2, 3]
    # racing promotions and rollbacks from both checkouts, ordered on PostgreSQL's lock
    from tests.integration.test_nothing_lost import race_commands

    commands = race_commands("dlops-mlp")
    racers = [stack.start(r, *c) for r, c in zip([stack.first, second] * 4, commands, strict=False)]
    for racer in racers:
        out, err = racer.communicate(timeout=400)
        assert racer.returncode in (0, 2), err[-2000:]
        assert racer.returncode == 0 or (err.startswith("error: ") and err.count("\n") == 1)
    history = json.loads(stack.dlops(second, "history", "mlp", "--json").stdout)
    entries = [Entry(**e) for e in history]
    champion = stack.mlflow().get_registered_model("dlops-mlp").aliases["champion"]
    assert broken_links(entries, champion) == []
    assert sum(r.returncode == 0 for r in racers) == sum(e.actor != "pipeline" for e in entries)
    check = stack.dlops(second, "repair", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    # the first checkout sees the same ledger, and serves the champion the server names
    first = json.loads(stack.dlops(stack.first, "history", "mlp", "--json").stdout)
    assert first == history
    served = serve_once(stack, second, {"rows": [[1.0] * 30]}, "/predict")
    assert served["model_name"] == "dlops-mlp" and served["model_version"] == champion


def serve_once(stack, root: Path, body: dict, path: str) -> dict:
    import httpx

    port = free_port()
    process = subprocess.Popen(
        [DLOPS, "serve", "mlp", "--port", str(port)],
        env=stack.client_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                return httpx.post(f"http://127.0.0.1:{port}{path}", json=body, timeout=5).json()
            except httpx.HTTPError:
                assert process.poll() is None, "dlops serve exited"
                time.sleep(0.5)
        raise AssertionError("dlops serve did not answer in 120 s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_a_missing_bucket_is_refused_before_anything(stack, tmp_path):
    """A DVC remote on a bucket that does not exist: one line, exit 2, nothing versioned."""
    third = checkout(tmp_path / "third", tmp_path / "unused-remote")
    assert stack.dlops(third, "stack", "join", "--dir", str(stack.folder)).returncode == 0
    local = third / ".dvc" / "config.local"
    local.write_text(local.read_text().replace("s3://dlops/dvc", "s3://no-such-bucket/dvc"))
    versions = len(stack.mlflow().search_model_versions("name='dlops-mlp'"))
    result = stack.dlops(third, "run", "--family", "mlp", "--config", str(stack.config))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "bucket 'no-such-bucket' does not exist" in result.stderr
    assert not (third / "data" / "mlp").exists()  # nothing staged into data/, nothing pushed
    assert len(stack.mlflow().search_model_versions("name='dlops-mlp'")) == versions


def test_a_run_killed_between_alias_and_ledger_converges_on_postgresql(stack):
    """kill -9 right after the alias moved: `dlops repair` applies the pending entry."""
    env = {**stack.client_env(stack.first), "DLOPS_FAULT_AT": "between-alias-and-ledger"}
    killed = subprocess.run(
        [DLOPS, "run", "--family", "mlp", "--config", str(stack.config)]
        + ["--set", "registry.model_name=pg-crash"],
        env=env,
        cwd=stack.first,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr
    broken = stack.dlops(stack.first, "repair", "--check")
    assert broken.returncode == 1 and "pg-crash" in broken.stdout, broken.stdout + broken.stderr
    assert stack.dlops(stack.first, "repair").returncode == 0
    check = stack.dlops(stack.first, "repair", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    [entry] = json.loads(
        stack.dlops(stack.first, "history", "mlp", "-m", "pg-crash", "--json").stdout
    )
    assert entry["action"] == "first" and entry["state"] == "done"
    aliases = stack.mlflow().get_registered_model("pg-crash").aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "1", "challenger": "1"}
