"""Servers that are not there, refuse us, or are another version: one line, exit 2, at once."""

import json
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.project import DlopsError

DLOPS = str(Path(sys.executable).parent / "dlops")


@contextmanager
def fake_server(answers: dict[str, tuple[int, str]]):
    """A loopback HTTP server answering GET path → (status, body); 404 for anything else."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = answers.get(self.path.split("?")[0], (404, "not found"))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MLFLOW_OK = {"/version": (200, "3.17.2"), "/api/2.0/mlflow/experiments/get-by-name": (200, "{}")}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({**MLFLOW_OK, "/version": (200, "2.19.0")}, "runs MLflow 2.19.0; this dlops needs an"),
        ({**MLFLOW_OK, "/api/2.0/mlflow/experiments/get-by-name": (401, "")}, "refuses the cred"),
        ({"/health": (200, "OK")}, "is no MLflow tracking server (GET /version: 404)"),
        ({**MLFLOW_OK, "/api/2.0/mlflow/experiments/get-by-name": (500, "")}, "fails on its own"),
    ],
)
def test_an_unusable_tracking_server_is_named(answers, message, monkeypatch):
    from components.tracking.server import check_tracking_server

    with fake_server(answers) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        with pytest.raises(DlopsError, match="the MLflow tracking server at") as error:
            check_tracking_server()
    assert message in str(error.value) and url in str(error.value)


def test_a_tracking_server_that_answers_passes(monkeypatch):
    from components.tracking.server import check_tracking_server

    with fake_server(MLFLOW_OK) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        assert check_tracking_server() == "3.17.2"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    assert check_tracking_server() is None  # the embedded store: nothing to ask


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"/api/health": (200, "true"), "/api/admin/version": (200, '"2.20.1"')}, "Prefect 2.20.1"),
        ({"/api/health": (401, ""), "/api/admin/version": (401, "")}, "refuses the credentials"),
        ({"/health": (200, "OK")}, "is no Prefect server"),
    ],
)
def test_an_unusable_prefect_server_is_named(answers, message, monkeypatch):
    from pipelines.preflight import check_prefect_server

    with fake_server(answers) as url:
        monkeypatch.setenv("PREFECT_API_URL", f"{url}/api")
        with pytest.raises(DlopsError, match="the Prefect server at") as error:
            check_prefect_server()
    assert message in str(error.value)


def test_a_prefect_server_of_this_major_version_passes(monkeypatch):
    from pipelines.preflight import check_prefect_server

    answers = {"/api/health": (200, "true"), "/api/admin/version": (200, json.dumps("3.0.0"))}
    with fake_server(answers) as url:
        monkeypatch.setenv("PREFECT_API_URL", f"{url}/api")
        assert check_prefect_server() == "3.0.0"


@pytest.mark.parametrize(
    ("args", "setting"),
    [
        (["status"], "MLFLOW_TRACKING_URI"),
        (["history", "mlp"], "MLFLOW_TRACKING_URI"),
        (["run", "--family", "mlp"], "MLFLOW_TRACKING_URI"),
        (["run", "--family", "mlp"], "PREFECT_API_URL"),
    ],
)
def test_a_server_that_does_not_answer_stops_the_command_at_once(args, setting, tmp_path):
    """One line naming the server and its setting, exit 2; nothing is written in the project."""
    repo_configs = Path(__file__).resolve().parents[2] / "configs"
    (tmp_path / "configs").mkdir()
    for config in repo_configs.glob("*.yaml"):
        (tmp_path / "configs" / config.name).write_text(config.read_text())
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"DLOPS_PROJECT_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    env[setting] = f"{url}/api" if setting == "PREFECT_API_URL" else url
    result = subprocess.run([DLOPS, *args], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert url in result.stderr and setting in result.stderr and "does not answer" in result.stderr
    assert not (tmp_path / "data").exists()  # no data staged or versioned
    assert not list((tmp_path / "mlflow").glob("*.db"))  # no run in the embedded store either
