"""Lineage: which data, code and config produced a run.

The same tags go on the run, the registered version and every served response.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

LINEAGE_KEYS = ("family", "data_version", "git_commit", "config_hash", "device")


def git_commit(root: Path) -> str:
    """HEAD's commit, with `-dirty` when tracked files differ; `unknown` outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def lineage_tags(
    family: str, data_version: str, commit: str, config_hash: str, device: str
) -> dict[str, str]:
    """The five tags every training run, registered version and served response carries."""
    return {
        "family": family,
        "data_version": data_version,
        "git_commit": commit,
        "config_hash": config_hash,
        "device": device,
    }
