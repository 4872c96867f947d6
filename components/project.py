"""Where the project lives on disk, and the one explicit set-up call for the embedded services."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class DlopsError(Exception):
    """A user-facing error: printed as one line by the CLI, never with a traceback."""


# Offline machines: no telemetry, no analytics uploads, no "Failed to send telemetry" noise.
QUIET_ENV = {
    "GX_ANALYTICS_ENABLED": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DVC_NO_ANALYTICS": "1",
    "PREFECT_UI_ENABLED": "false",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # a tracking server's "View run ... at" line per ended run: the summary names the UI once
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


# Prefect's temporary server creates its database on first use: ~18 s on a fresh PREFECT_HOME on
# two cores, against Prefect's default wait of 20 s.
SERVER_DEFAULTS = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


# The package is installed editable from the repository: the code's root is its parent.
CODE_ROOT = Path(__file__).resolve().parent.parent


def _default_root() -> Path:
    env = os.environ.get("DLOPS_PROJECT_DIR")
    return Path(env).resolve() if env else CODE_ROOT


@dataclass(frozen=True)
class Project:
    """Paths of one dlops project: code, configs, data, tracking store, scratch space."""

    root: Path

    @classmethod
    def current(cls) -> Project:
        """The project named by `DLOPS_PROJECT_DIR`, else the repository this code lives in."""
        return cls(_default_root())

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def work(self) -> Path:
        """Scratch space (gitignored): staging, checkpoints, reports, Data Docs."""
        return self.root / ".dlops"

    @property
    def served(self) -> Path:
        """The served-input logs `dlops serve` writes and `dlops drift` reads."""
        return self.work / "served"

    def run_dir(self, run_id: str) -> Path:
        """A training run's local folder: checkpoints, best weights and card, plots."""
        return self.work / "runs" / run_id

    def legacy_default(self, family: str) -> str | None:
        """The family's default model as dlops before 0.2 kept it: in this checkout only."""
        path = self.work / "last_model" / family
        return path.read_text().strip() or None if path.is_file() else None

    def tracking_uri(self) -> str:
        """`MLFLOW_TRACKING_URI` if set, else SQLite in `mlflow/`."""
        return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    def artifact_root(self) -> str:
        return (self.mlflow_dir / "artifacts").as_uri()


def tracking_server() -> str | None:
    """The MLflow tracking server's URL when `MLFLOW_TRACKING_URI` names one (its UI is there)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else None


def mlflow_ui() -> str:
    """Where the user opens the MLflow UI: the tracking server, or `dlops ui`'s local address."""
    return tracking_server() or "http://127.0.0.1:5000 (start it with `dlops ui`)"


def setup_environment(project: Project) -> None:
    """Point the libraries at the embedded defaults; explicit, never at import time.

    Values the user already set in the environment win.
    """
    import warnings

    for key, value in {**QUIET_ENV, **SERVER_DEFAULTS}.items():
        os.environ.setdefault(key, value)
    # MLflow hints that do not apply: our sources are DVC folders, labels are never missing.
    warnings.filterwarnings("ignore", message=".*dataset source can be interpreted.*")
    warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
    os.environ.setdefault("MLFLOW_TRACKING_URI", project.tracking_uri())
    project.mlflow_dir.mkdir(parents=True, exist_ok=True)
    project.work.mkdir(parents=True, exist_ok=True)
