"""The CLI: fast --help without heavy imports, one-line errors with non-zero exits."""

import subprocess
import sys
from pathlib import Path

import pytest

DLOPS = str(Path(sys.executable).parent / "dlops")
HEAVY = ("torch", "mlflow", "great_expectations", "prefect", "bentoml", "dvc", "sklearn")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["data", "--help"]])
def test_help_imports_no_heavy_library(args):
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom pipelines.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_every_command():
    out = subprocess.run([DLOPS, "--help"], capture_output=True, text=True, check=True).stdout
    commands = ("data", "validate", "run", "retrain", "schedule", "serve", "build", "status")
    for command in (*commands, "history", "promote", "rollback", "ui"):
        assert command in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--family", "transformer"], "unknown family 'transformer'"),
        (["validate", "nope"], "unknown family 'nope'"),
        (["run", "--set", "train.epochs"], "--set expects key=value"),
        (["run", "--set", "train.epochs=-1"], "train.epochs"),
        (["run", "--config", "/nonexistent.yaml"], "not found"),
        (["serve", "mlp", "--port", "70000"], "65535"),
        (["retrain", "--family", "nope"], "unknown family 'nope'"),
        (["schedule", "--set", "train.epochs=0"], "train.epochs"),
        (["schedule", "--cron", "every monday"], "not a cron expression"),
        (["retrain", "--family", "mlp", "--config", "BAD_PIPELINE"], "webhook url must start"),
    ],
)
def test_user_errors_are_one_line(args, message, tmp_path):
    env = {"DLOPS_PROJECT_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    (tmp_path / "configs").mkdir()
    repo_configs = Path(__file__).resolve().parents[2] / "configs"
    for config in repo_configs.glob("*.yaml"):
        (tmp_path / "configs" / config.name).write_text(config.read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline:\n  notify: {webhooks: [{url: 'ftp://hooks'}]}\n")
    args = [str(bad) if arg == "BAD_PIPELINE" else arg for arg in args]
    result = subprocess.run([DLOPS, *args], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
