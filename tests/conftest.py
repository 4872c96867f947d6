"""Shared fixtures: an isolated project folder (git + DVC + MLflow + BentoML) and one Prefect
server for the whole session."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def make_project(root: Path, remote: Path) -> Path:
    """A project folder like a fresh clone: the repo's configs, a git repo, a DVC remote."""
    shutil.copytree(REPO / "configs", root / "configs")
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text(
        "[core]\n    remote = local\n    autostage = false\n    analytics = false\n"
        f"['remote \"local\"']\n    url = {remote}\n"
    )
    (root / ".gitignore").write_text("/.dlops/\n/mlflow/\n")  # data/: DVC ignores its folders
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


@pytest.fixture(scope="session")
def project_env(tmp_path_factory):
    """Environment of the isolated project; the real tracking store and stores stay untouched."""
    base = tmp_path_factory.mktemp("dlops")
    root = make_project(base / "project", base / "dvc-remote")
    env = {
        "DLOPS_PROJECT_DIR": str(root),
        "BENTOML_HOME": str(base / "bentoml"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
        "PREFECT_HOME": str(base / "prefect"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def project(project_env):
    from components.project import Project, setup_environment

    current = Project.current()
    setup_environment(current)
    return current


@pytest.fixture(scope="session")
def prefect_server(project_env):
    """One temporary Prefect server for every flow run of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def first_run(project, prefect_server, tmp_path_factory):
    """The real flow once on the built-in data with a tiny config: champion v1 exists after."""
    from pipelines.training import training_pipeline
    from tests.pipeline_helpers import tiny_config

    config = tiny_config(tmp_path_factory.mktemp("config"))
    [outcome] = training_pipeline(families=["mlp"], config=config)
    assert outcome["status"] == "ok", outcome["message"]
    return {"outcome": outcome, "config": config}
