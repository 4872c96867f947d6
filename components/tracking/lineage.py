"""Lineage: which code produced a run (the tag names and the lineage keys: `components/tags.py`)."""

from __future__ import annotations

import subprocess
from pathlib import Path


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


def parse_target(text: str) -> tuple[str, str]:
    """(model name, version) from `MODEL@VERSION`, a served response's JSON, or a file of it."""
    import json

    from components.project import DlopsError

    name, at, version = text.partition("@")
    if at and name and version.lstrip("v").isdigit() and "{" not in text:
        return name, version.lstrip("v")
    try:
        body = json.loads(text if text.lstrip().startswith("{") else Path(text).read_text())
    except (OSError, ValueError):
        raise DlopsError(
            f"{text!r} is neither MODEL@VERSION nor a served response (JSON text or a file)"
        ) from None
    if not isinstance(body, dict) or not body.get("model_name") or not body.get("model_version"):
        raise DlopsError("the response names no model_name and model_version")
    return str(body["model_name"]), str(body["model_version"])


def _committed_pointer(root: Path, commit: str, key: str) -> str | None:
    """`data/<key>.dvc` as `commit` holds it, or None (not committed then, or no git)."""
    try:
        return subprocess.run(
            ["git", "show", f"{commit}:data/{key}.dvc"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def describe(root: Path, model_name: str, version: str) -> dict[str, str]:
    """Model version → run → data version → git commit → config, as plain values.

    `restore` says how to get the data back: by `git checkout` + `dvc checkout` when the
    commit holds the model's pointer at this data version, else by md5 from DVC's cache.
    """
    from components import tags as tag
    from components.registry.versions import CHAMPION, alias_version, version_info
    from components.tracking.runs import SETTINGS_ARTIFACT, client, run_settings

    info = version_info(model_name, version)
    run = client().get_run(info.run_id)
    settings = run_settings(info.run_id)
    key = settings.data_key if settings else ""
    commit = info.tags.get(tag.GIT_COMMIT, "")
    data_version = info.tags.get(tag.DATA_VERSION, "")
    clean = commit.removesuffix("-dirty")
    pointer = _committed_pointer(root, clean, key) if key and clean else None
    if pointer is not None and f"md5: {data_version}" in pointer:
        restore = f"git checkout {clean} && dvc checkout data/{key}.dvc"
    else:
        restore = (
            f"dlops lineage {model_name}@{version} --restore DIR (commit {clean[:12] or '-'} "
            f"does not hold data/{key}.dvc at this version: commit data/*.dvc with your code)"
        )
    return {
        "model": f"{model_name} v{version}"
        + (" (champion)" if alias_version(model_name, CHAMPION) == version else ""),
        "run": f"{info.run_id} ({run.info.run_name}, {run.info.status})",
        "data_version": data_version,
        "data": f"data/{key} (pointer data/{key}.dvc)" if key else "",
        "git_commit": commit,
        "restore": restore,
        "config_hash": info.tags.get(tag.CONFIG_HASH, ""),
        "config": f"runs:/{info.run_id}/{SETTINGS_ARTIFACT}",
        "source": "" if settings is None else settings.data.source,
        "target": "" if settings is None else settings.data.target,
        "device": info.tags.get(tag.DEVICE, ""),
    }
