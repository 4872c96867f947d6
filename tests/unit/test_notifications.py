"""Notification hooks deliver to a real local HTTP server, and a failing hook never raises."""

import json
import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.notifications import Notification, hooks, notify
from components.settings import NotifySettings, WebhookSettings


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.server.requests.append(Request(self.path, headers, json.loads(body)))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server:
    """A webhook receiver on 127.0.0.1 answering every POST with `status`."""

    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.requests = []
        self.httpd.status = 200
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    @property
    def requests(self) -> list[Request]:
        return self.httpd.requests

    def answer(self, status: int) -> None:
        self.httpd.status = status

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    receiver = Server()
    yield receiver
    receiver.close()


@pytest.fixture(autouse=True)
def _fast_and_direct(monkeypatch):
    monkeypatch.setattr(hooks, "RETRY_PAUSE_S", 0.01)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def promoted(**changes) -> Notification:
    fields = dict(
        event="promoted",
        family="mlp",
        model_name="dlops-mlp",
        version="3",
        champion="3",
        data_version="d41d8cd",
        run_id="abc123",
        reason="accuracy +0.012 beyond the 0.005 margin",
        report="reports/mlp-v3.html",
    )
    return Notification(**{**fields, **changes})


def failed_validation() -> Notification:
    return Notification(
        event="validation_failed",
        family="mlp",
        model_name="dlops-mlp",
        data_version="d41d8cd",
        reason="column age: 12 values below 0",
        report="gx/index.html",
    )


def quiet(*webhooks: WebhookSettings) -> NotifySettings:
    return NotifySettings(log=False, webhooks=list(webhooks))


def test_payload_is_json_with_a_one_line_summary():
    payload = promoted(reason="accuracy +0.012\nbeyond the margin").payload()
    assert json.loads(json.dumps(payload)) == payload
    assert (
        payload["text"] == "dlops: mlp v3 promoted to champion (accuracy +0.012 beyond the margin)"
    )
    assert payload["time"].endswith("Z") and payload["time"].startswith("20")
    rejected = promoted(event="rejected", version="4", champion="3").payload()["text"]
    assert rejected.startswith("dlops: mlp v4 rejected, champion stays v3")
    assert "data d41d8cd failed validation" in failed_validation().payload()["text"]
    refused = promoted(event="serve_refused", version="5", champion="3", reason="no card")
    assert (
        refused.payload()["text"] == "dlops: mlp v5 not switched to, the service keeps v3 (no card)"
    )


def test_unknown_event_is_a_bug():
    with pytest.raises(ValueError, match="unknown"):
        promoted(event="deployed")


def test_promoted_posts_the_payload(server):
    hook = WebhookSettings(url=server.url("/services/x"), headers={"X-Token": "t0k"})
    assert notify(quiet(hook), promoted()) == []
    [request] = server.requests
    assert request.path == "/services/x"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-token"] == "t0k"
    assert request.body == promoted(time=request.body["time"]).payload()
    assert request.body["event"] == "promoted" and request.body["version"] == "3"
    assert request.body["champion"] == "3" and request.body["run_id"] == "abc123"
    assert request.body["report"] == "reports/mlp-v3.html"


def test_webhook_only_receives_its_events(server):
    hook = WebhookSettings(url=server.url(), events=["validation_failed"])
    assert notify(quiet(hook), promoted()) == []
    assert server.requests == []
    assert notify(quiet(hook), failed_validation()) == []
    assert [r.body["event"] for r in server.requests] == ["validation_failed"]


def test_url_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("DLOPS_TEST_HOOK", server.url("/from-env"))
    assert notify(quiet(WebhookSettings(url_env="DLOPS_TEST_HOOK")), promoted()) == []
    assert [r.path for r in server.requests] == ["/from-env"]


@pytest.mark.parametrize("value", [None, "", "  "])
def test_unset_url_variable_is_a_problem_not_an_error(monkeypatch, caplog, value):
    if value is None:
        monkeypatch.delenv("DLOPS_TEST_HOOK", raising=False)
    else:
        monkeypatch.setenv("DLOPS_TEST_HOOK", value)
    [problem] = notify(quiet(WebhookSettings(url_env="DLOPS_TEST_HOOK")), promoted())
    assert "DLOPS_TEST_HOOK" in problem and "not set" in problem
    assert problem in caplog.text


def test_server_error_is_retried_once(server, caplog):
    server.answer(500)
    [problem] = notify(quiet(WebhookSettings(url=server.url())), promoted())
    assert len(server.requests) == 2
    assert "500" in problem and "retry" in problem
    assert any(r.levelno == logging.WARNING and "500" in r.getMessage() for r in caplog.records)


def test_server_recovering_on_retry_is_no_problem(server, monkeypatch):
    server.answer(503)
    monkeypatch.setattr(hooks.time, "sleep", lambda seconds: server.answer(200))
    assert notify(quiet(WebhookSettings(url=server.url())), promoted()) == []
    assert len(server.requests) == 2


def test_client_error_is_not_retried(server):
    server.answer(404)
    [problem] = notify(quiet(WebhookSettings(url=server.url())), promoted())
    assert len(server.requests) == 1
    assert "404" in problem and "retry" not in problem


def test_unreachable_webhook_is_a_problem(closed_port):
    hook = WebhookSettings(url=f"http://127.0.0.1:{closed_port}/hook", timeout_s=1)
    [problem] = notify(quiet(hook), promoted())
    assert f"127.0.0.1:{closed_port}" in problem and "Connect" in problem


def test_one_failing_webhook_does_not_stop_the_others(server, closed_port):
    broken = WebhookSettings(url=f"http://127.0.0.1:{closed_port}/hook")
    problems = notify(quiet(broken, WebhookSettings(url=server.url())), promoted())
    assert len(problems) == 1 and len(server.requests) == 1


def test_log_hook_levels(caplog):
    caplog.set_level(logging.INFO, logger="dlops.notify")
    notify(NotifySettings(), promoted())
    notify(NotifySettings(), failed_validation())
    [info, warning] = [r for r in caplog.records if r.name == "dlops.notify"]
    assert info.levelno == logging.INFO and info.getMessage() == promoted().line()
    assert "mlp v3 promoted to champion" in info.getMessage()
    assert warning.levelno == logging.WARNING
    assert "failed validation" in warning.getMessage() and "gx/index.html" in warning.getMessage()


def test_log_false_logs_nothing(caplog):
    caplog.set_level(logging.DEBUG, logger="dlops.notify")
    assert notify(NotifySettings(log=False), promoted()) == []
    assert caplog.records == []


def test_secrets_never_logged(server, closed_port, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="dlops.notify")
    server.answer(403)
    headers = {"Authorization": "Bearer hush-header"}
    monkeypatch.setenv("DLOPS_TEST_HOOK", f"http://127.0.0.1:{closed_port}/T0/hush-env?k=hush-q")
    settings = NotifySettings(
        webhooks=[
            WebhookSettings(
                url=server.url("/services/hush-path?token=hush-query"), headers=headers
            ),
            WebhookSettings(url_env="DLOPS_TEST_HOOK", headers=headers),
        ]
    )
    problems = notify(settings, promoted())
    assert len(problems) == 2 and len(server.requests) == 1
    assert f"127.0.0.1:{server.httpd.server_address[1]}" in problems[0]
    assert "$DLOPS_TEST_HOOK" in problems[1]
    logged = caplog.text + "\n".join(problems)
    assert "hush" not in logged and "/services" not in logged and "/T0" not in logged
