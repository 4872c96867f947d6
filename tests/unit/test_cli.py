"""The CLI: fast --help without heavy imports, one-line errors with non-zero exits."""

import subprocess
import sys
from pathlib import Path

import pytest

DLOPS = str(Path(sys.executable).parent / "dlops")
WIDE = {"PATH": "/usr/bin:/bin", "COLUMNS": "120", "TERM": "dumb"}
HEAVY = ("torch", "mlflow", "great_expectations", "prefect", "bentoml", "dvc", "sklearn")


@pytest.mark.parametrize(
    "args", [["--help"], ["run", "--help"], ["data", "--help"], ["stack", "--help"]]
)
def test_help_imports_no_heavy_library(args):
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom pipelines.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def listed_commands(*args: str) -> set[str]:
    """The command names in the Commands panel of `dlops [args] --help`."""
    out = subprocess.run(
        [DLOPS, *args, "--help"], capture_output=True, text=True, check=True, env=WIDE
    ).stdout
    panel = out.split(" Commands ", 1)[1].split("╰", 1)[0]
    names = set()
    for line in panel.splitlines()[1:]:
        first = line.strip("│ ").split("  ")[0].strip()
        if first and line.startswith("│ ") and not line.startswith("│   "):
            names.add(first)
    return names


def test_help_lists_every_command_and_no_other():
    assert listed_commands() == {
        *("data", "validate", "run", "retrain", "schedule", "serve", "build", "status"),
        *("history", "promote", "rollback", "lineage", "drift", "ui", "stack", "repair"),
        "shadow",
    }
    assert listed_commands("data") == {"ingest", "status"}
    assert listed_commands("stack") == {"up", "down", "status", "env", "join"}
    assert listed_commands("shadow") == {"report"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--family", "transformer"], "unknown family 'transformer'"),
        (["validate", "nope"], "unknown family 'nope'"),
        (["shadow", "report", "mlp"], "no shadowed requests"),
        (["run", "--set", "train.epochs"], "--set expects key=value"),
        (["run", "--set", "train.epochs=-1"], "train.epochs"),
        (["run", "--config", "/nonexistent.yaml"], "not found"),
        (["run", "--set", "data.source=csv:/nonexistent.csv"], "CSV file not found"),
        (["run", "--set", "registry.model_name=My Model"], "not a model name"),
        (["run", "--accept-data-change", " "], "--accept-data-change needs a reason"),
        (["lineage", "no-such-answer.json"], "neither MODEL@VERSION nor"),
        (["run", "-f", "cnn", "--set", "data.source=folder:/nonexistent"], "folder not found"),
        (["retrain", "-f", "rnn", "--set", "data.source=csv:/"], "CSV file not found: /"),
        (["serve", "mlp", "--port", "70000"], "65535"),
        (["retrain", "--family", "nope"], "unknown family 'nope'"),
        (["schedule", "--set", "train.epochs=0"], "train.epochs"),
        (["schedule", "--cron", "every monday"], "not a cron expression"),
        (["retrain", "--family", "mlp", "--config", "BAD_PIPELINE"], "webhook url must start"),
        (["drift", "-f", "mlp", "--export", "out"], "--export and --labels go together"),
        (["drift", "-f", "mlp", "-f", "cnn", "--model", "m"], "name exactly one --family"),
        (["drift", "--window", "5"], "greater than or equal to 10"),
        (["drift", "-f", "mlp", "--model", "dlops-mlp-none"], "has no champion"),
        (["stack", "up", "--database-url", "mysql://db"], "is no PostgreSQL URL"),
        (["stack", "env", "--dir", "no-stack-here"], "no stack is up"),
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
    assert result.returncode == 2
    assert message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    if "Usage:" not in result.stderr:  # typer's own usage errors come in a box
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
