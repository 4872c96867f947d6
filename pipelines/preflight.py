"""Before a command changes anything: are the servers it will use there, and usable?

The tracking server (`MLFLOW_TRACKING_URI`), the Prefect server (`PREFECT_API_URL`) and the DVC
remote (`.dvc/config`) are each asked once, with short timeouts. What is wrong becomes one line
naming the server and the setting (exit 2), before any data is versioned or model registered.
The embedded defaults (SQLite, Prefect's temporary server, a remote folder) need no check.
"""

from __future__ import annotations

import os
from importlib.metadata import version

from components.project import DlopsError, Project

TIMEOUT_S = 10


def prefect_api_url() -> str | None:
    """`PREFECT_API_URL` from the environment or the active Prefect profile."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _prefect_auth() -> dict:
    """Prefect's own credential settings: a self-hosted server's auth string, or an API key."""
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth and ":" in auth:
        user, password = auth.split(":", 1)
        return {"auth": (user, password)}
    key = os.environ.get("PREFECT_API_KEY")
    return {"headers": {"Authorization": f"Bearer {key}"}} if key else {}


def check_prefect_server() -> str | None:
    """The Prefect server's version when `PREFECT_API_URL` names one (None if not).

    A DlopsError naming the server when it does not answer, refuses the credentials, or runs
    another major version of Prefect than this client.
    """
    import httpx

    api = prefect_api_url()
    if not api:
        return None
    api = api.rstrip("/")
    where = f"the Prefect server at {api} (PREFECT_API_URL)"
    try:
        with httpx.Client(timeout=TIMEOUT_S, **_prefect_auth()) as client:
            health = client.get(f"{api}/health")
            found = client.get(f"{api}/admin/version")
    except httpx.HTTPError as exc:
        raise DlopsError(f"{where} does not answer: {exc or type(exc).__name__}") from None
    if 401 in (health.status_code, found.status_code) or 403 in (
        health.status_code,
        found.status_code,
    ):
        raise DlopsError(
            f"{where} refuses the credentials: check PREFECT_API_AUTH_STRING or PREFECT_API_KEY"
        )
    if health.status_code != 200 or found.status_code != 200:
        raise DlopsError(f"{where} is no Prefect server (GET /health: {health.status_code})")
    server_version = str(found.json())
    ours = version("prefect")
    if server_version.split(".")[0] != ours.split(".")[0]:
        raise DlopsError(
            f"{where} runs Prefect {server_version}; this dlops needs a Prefect "
            f"{ours.split('.')[0]}.x server (its client is {ours})"
        )
    return server_version


def check_servers(project: Project, prefect: bool = False, data: bool = False) -> None:
    """The tracking server always; the Prefect server and the DVC remote when asked."""
    from components.tracking.server import check_tracking_server

    check_tracking_server()
    if prefect:
        check_prefect_server()
    if data:
        from components.data.versioning import check_remote

        check_remote(project)
