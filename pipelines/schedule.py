"""`dlops schedule`: the training flow served as a Prefect deployment on a cron schedule.

The deployment runs `training_pipeline(only_if_changed=True, check_drift=True)`: each champion's
served inputs are checked for drift first (drift retrains the family); families whose data,
config and code are unchanged since their last success, and that did not drift, are skipped. It
is served on the Prefect server named by `PREFECT_API_URL`; without one, a local `prefect server
start` is started (or reused if one already answers on the port) and stopped again on exit. Only
a real server runs the scheduler service that turns the cron schedule into flow runs; the
temporary server that `dlops run` starts does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from components.project import DlopsError, Project
from pipelines.leftovers import adopt, release


def check_cron(expression: str) -> str:
    """The expression if Prefect accepts it as a cron schedule, else a DlopsError naming it."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=expression)
    except ValueError:
        raise DlopsError(
            f"--cron: {expression!r} is not a cron expression (five fields, e.g. '0 3 * * 1')"
        ) from None
    return expression


def _healthy(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def _using(api_url: str) -> Iterator[None]:
    """Point this process (Prefect is imported: its settings too) and its children at a server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    os.environ["PREFECT_API_URL"] = api_url
    try:
        with temporary_settings({PREFECT_API_URL: api_url}):
            yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)


@contextmanager
def prefect_server(project: Project, port: int, timeout_s: float = 120) -> Iterator[str]:
    """The API URL of the Prefect server to serve on: `PREFECT_API_URL`, else a local one.

    `PREFECT_API_URL` may come from the environment or the active Prefect profile. A local
    server (`prefect server start`, with its UI) is started when none answers on `port`; its log
    goes to `.dlops/prefect-server.log` and it is stopped when the block ends.
    """
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()  # the environment, or the active Prefect profile
    if configured:
        yield configured
        return
    url = f"http://127.0.0.1:{port}/api"
    if _healthy(url):
        with _using(url):
            yield url
        return
    log_path = project.work / "prefect-server.log"
    env = {**os.environ, "PREFECT_UI_ENABLED": "true"}
    cli = str(Path(sys.executable).parent / "prefect")
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [cli, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    adopt(project, server.pid)  # stopped by the next command if this one is killed
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if server.poll() is not None:
                raise DlopsError(f"the Prefect server did not start: see {log_path}")
            if time.monotonic() > deadline:
                raise DlopsError(f"the Prefect server did not answer in {timeout_s:.0f} s")
            time.sleep(0.3)
        with _using(url):
            yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        release(project, server.pid)


def serve(
    families: list[str],
    cron: str,
    config: Path | None,
    overrides: list[str],
    name: str,
) -> None:
    """Create (or update) the deployment and run its flow runs until interrupted.

    Each flow run executes in a subprocess of this one, with its environment. Ctrl-C or
    SIGTERM pauses the schedule and stops serving.
    """
    from pipelines.training import training_pipeline

    training_pipeline.serve(
        name=name,
        cron=cron,
        parameters={
            "families": families,
            "config": str(config.resolve()) if config else None,
            "overrides": overrides,
            "only_if_changed": True,
            "check_drift": True,
        },
        description="Check served inputs for drift; retrain the families that drifted or whose "
        "data, config or code changed (dlops schedule).",
        tags=["dlops"],
        pause_on_shutdown=True,
        limit=1,  # one retrain at a time: two would stage and version the same folders
    )
