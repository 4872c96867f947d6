"""Is the MLflow tracking server there, does it take our credentials, is it an MLflow 3?

Asked once before a command changes anything, with a short timeout and without importing
MLflow: an unreachable server, refused credentials or an incompatible version is one line
naming what and where (a DlopsError), not minutes of retries and a traceback half-way through.
"""

from __future__ import annotations

import os
from importlib.metadata import version

from components.project import DlopsError, tracking_server

TIMEOUT_S = 10


def _auth() -> dict:
    """MLflow's own credential settings, as its client would send them."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"headers": {"Authorization": f"Bearer {token}"}}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    return {"auth": (user, password or "")} if user else {}


def check_tracking_server() -> str | None:
    """The server's MLflow version when `MLFLOW_TRACKING_URI` names a server (None if not).

    Raises a DlopsError naming the server when it does not answer, answers as something else
    than an MLflow tracking server, refuses the credentials, or runs another major version.
    """
    import httpx

    server = tracking_server()
    if server is None:
        return None
    where = f"the MLflow tracking server at {server} (MLFLOW_TRACKING_URI)"
    verify = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() != "true"
    try:
        with httpx.Client(timeout=TIMEOUT_S, verify=verify, **_auth()) as client:
            found = client.get(f"{server}/version")
            probe = client.get(
                f"{server}/api/2.0/mlflow/experiments/get-by-name",
                params={"experiment_name": "Default"},
            )
    except httpx.HTTPError as exc:
        raise DlopsError(f"{where} does not answer: {exc or type(exc).__name__}") from None
    if found.status_code in (401, 403) or probe.status_code in (401, 403):
        raise DlopsError(
            f"{where} refuses the credentials (HTTP {probe.status_code or found.status_code}): "
            "check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN"
        )
    server_version = found.text.strip()
    if found.status_code != 200 or not server_version[:1].isdigit():
        raise DlopsError(
            f"{where} is no MLflow tracking server (GET /version: {found.status_code})"
        )
    ours = version("mlflow")
    if server_version.split(".")[0] != ours.split(".")[0]:
        raise DlopsError(
            f"{where} runs MLflow {server_version}; this dlops needs an MLflow "
            f"{ours.split('.')[0]}.x server (its client is {ours})"
        )
    if probe.status_code >= 500:
        raise DlopsError(
            f"{where} fails on its own store (HTTP {probe.status_code}): see the server's log"
        )
    return server_version
