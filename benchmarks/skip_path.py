"""Retrain with nothing changed (the skip path) against a full run, in a fresh project.

In one process, on one Prefect server: `training_pipeline(only_if_changed=True)` first on a
fresh project (every family ingests, validates, trains, registers, gates, packages), then again
with nothing changed (every family is fingerprinted and skipped), several times. Prints both
times and the ratio (target ≤ 0.1), and the wall time of the `dlops retrain` command on the
skip path (a process of its own: imports included, Prefect server already running).

    .venv/bin/python benchmarks/skip_path.py [--families mlp cnn rnn gan] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo: tests/ helpers
from tests.conftest import make_project  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["mlp", "cnn", "rnn", "gan"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dlops-skip-"))
    root = make_project(base / "project", base / "dvc-remote")
    os.environ.update(
        {
            "DLOPS_PROJECT_DIR": str(root),
            "BENTOML_HOME": str(base / "bentoml"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
            "PREFECT_HOME": str(base / "prefect"),
        }
    )
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.training import training_pipeline

    def retrain() -> tuple[float, list[str]]:
        start = time.perf_counter()
        outcomes = training_pipeline(families=args.families, only_if_changed=True)
        return time.perf_counter() - start, [o["status"] for o in outcomes]

    with prefect_test_harness(server_startup_timeout=120):
        full, statuses = retrain()
        assert statuses == ["ok"] * len(args.families), statuses
        skips = []
        for _ in range(args.repeats):
            elapsed, statuses = retrain()
            assert statuses == ["skipped"] * len(args.families), statuses
            skips.append(elapsed)
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
        cli = [str(Path(sys.executable).parent / "dlops"), "retrain"]
        cli += [f"--family={f}" for f in args.families]
        start = time.perf_counter()
        subprocess.run(cli, env=env, check=True, capture_output=True)
        command = time.perf_counter() - start
    skip = statistics.median(skips)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; families {args.families}")
    print("| full run (s) | skip path, median (s) | ratio skip/full | `dlops retrain` skip (s) |")
    print("|---|---|---|---|")
    print(f"| {full:.1f} | {skip:.2f} | {skip / full:.3f} | {command:.1f} |")


if __name__ == "__main__":
    main()
