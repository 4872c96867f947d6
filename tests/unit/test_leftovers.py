"""A server a killed command started is stopped by the next command, and nothing else is."""

import os
import signal
import subprocess
import sys
import time

from components.project import Project

KILLED_COMMAND = """
import os, signal, subprocess, sys
from pathlib import Path
from components.project import Project
from pipelines.leftovers import adopt
quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
server = subprocess.Popen(["sleep", "120"], start_new_session=True, **quiet)
adopt(Project(Path(sys.argv[1])), server.pid)
print(server.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # as `kill -9` of a dlops command would
"""


def test_the_server_of_a_killed_command_is_stopped_by_the_next(tmp_path):
    from pipelines.leftovers import adopt, sweep

    project = Project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_COMMAND, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL
    orphan = int(done.stdout)
    mine = subprocess.Popen(["sleep", "120"])  # a server of this (living) command
    adopt(project, mine.pid)
    try:
        assert sweep(project) == [orphan]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(orphan):
            time.sleep(0.05)
        assert not _running(orphan)
        assert mine.poll() is None  # its command lives: left alone
        assert sweep(project) == []
    finally:
        mine.kill()
        mine.wait()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper is gone too
        return stat.read().split()[2] != "Z"
