"""Servers a dlops command starts for itself, and their end when the command was killed.

A command that starts a server of its own (the temporary Prefect server of `dlops run`, the
local `prefect server start` of `dlops schedule`) records it in `.dlops/children/`: its PID
and start time, and those of the command. A command stopped normally stops its server; one
killed with SIGKILL cannot, so the next dlops command (`sweep`) stops the servers whose command
is gone — by PID, and only a process that is still the one recorded.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from components.project import Project


def _started(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def adopt(project: Project, pid: int) -> None:
    """Record `pid` as a server this process started (it is stopped if this process dies)."""
    folder = project.work / "children"
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "started": _started(pid), "owner": os.getpid()}
    record["owner_started"] = _started(os.getpid())
    (folder / f"{pid}.json").write_text(json.dumps(record))


def release(project: Project, pid: int) -> None:
    (project.work / "children" / f"{pid}.json").unlink(missing_ok=True)


def sweep(project: Project) -> list[int]:
    """Stop the recorded servers whose command is gone; the PIDs stopped."""
    folder = project.work / "children"
    stopped = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        if _started(record["owner"]) == record["owner_started"]:
            continue  # its command still runs
        if record["started"] is not None and _started(record["pid"]) == record["started"]:
            with suppress(ProcessLookupError):
                os.kill(record["pid"], signal.SIGTERM)
            stopped.append(record["pid"])
        path.unlink(missing_ok=True)
    return stopped


@contextmanager
def prefect_api(project: Project) -> Iterator[str | None]:
    """The Prefect API this command's flows report to.

    `PREFECT_API_URL` when set (a server of the user's); else Prefect's temporary server,
    started here so that it is recorded (`adopt`), shared by the families' pool processes, and
    stopped at the end, also after a kill (by the next command's `sweep`).
    """
    from pipelines.preflight import prefect_api_url

    if prefect_api_url():
        yield None
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    server.start(timeout=120)
    pid = server.server_process.pid if server.server_process else None
    if pid is not None:
        adopt(project, pid)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=5)  # the flows' last logs, while the server still answers
        server.stop()
        if pid is not None:
            release(project, pid)
