"""The architecture as import-linter contracts (pyproject.toml): layers, what may import what.

`make lint` runs the same check; here it is part of `make test`, so a broken contract fails the
suite with the chain of imports that broke it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_import_contracts_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def copy_of_the_code(tmp_path: Path) -> Path:
    for name in ("components", "pipelines", "serving"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def test_a_service_importing_training_code_breaks_the_contract(tmp_path):
    root = copy_of_the_code(tmp_path)
    service = root / "serving" / "rnn.py"
    service.write_text(
        service.read_text() + "\nfrom components.runtime.trainer import fit  # noqa\n"
    )
    result = lint_imports(root)
    assert result.returncode != 0
    assert "serving is not allowed to import components.runtime.trainer" in result.stdout
    assert "serving.rnn -> components.runtime.trainer" in result.stdout


def test_the_services_registry_client_may_not_write_or_reach_mlflow_elsewhere(tmp_path):
    """The services reach MLflow through the read-only client alone, and it only reads."""
    root = copy_of_the_code(tmp_path)
    client = root / "components" / "tracking" / "registry_client.py"
    client.write_text(
        client.read_text() + "\nfrom components.tracking.runs import client  # noqa\n"
    )
    service = root / "serving" / "mlp.py"
    service.write_text(service.read_text() + "\nimport mlflow  # noqa\n")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "components.tracking.registry_client -> components.tracking.runs" in result.stdout
    assert "serving.mlp -> mlflow" in result.stdout


def test_the_runtime_importing_a_kind_breaks_the_layers(tmp_path):
    root = copy_of_the_code(tmp_path)
    runtime = root / "components" / "runtime" / "metrics.py"
    runtime.write_text(runtime.read_text() + "\nfrom components.kinds.base import Split  # noqa\n")
    result = lint_imports(root)
    assert result.returncode != 0
    assert "components.runtime is not allowed to import components.kinds" in result.stdout
