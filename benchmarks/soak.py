"""Soak on the team stack: pipelines at once, racing promotions, then the invariants checked.

`dlops stack up` (PostgreSQL, MLflow, Prefect, a worker, the S3 stand-in) in a folder of its
own, two checkouts pointed at it, tiny configs. A fixed count of operations:
1. `--pipelines` `dlops run`s at once, half from each checkout, two of them of the same model
   (`dlops-mlp`), the others of their own models;
2. `--promotions` promotions (`--force`, to v1 or v2) and rollbacks of `dlops-mlp`, racing in
   waves of `--at-once`, alternating between the checkouts;
3. one run killed with SIGKILL half-way, then `dlops repair`;
4. a run of a model of its own killed (SIGKILL) at each named step boundary
   (components/runtime/faults.py), then a re-run from the other checkout, then the check;
then `dlops repair --check` (every invariant of components/registry/repair.py) and the counts:
runs, versions, ledger entries, the commands' exits, invariant violations (the goal: 0).

    .venv/bin/python benchmarks/soak.py [--pipelines 4] [--promotions 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.conftest import make_project  # noqa: E402

DLOPS = str(Path(sys.executable).parent / "dlops")
TINY = """pipeline:
  families: [mlp]
mlp:
  model: {hidden_sizes: [16]}
  train: {epochs: 15, patience: 5, progress: false}
cnn:
  model: {channels: [8]}
  train: {epochs: 2, progress: false}
rnn:
  train: {epochs: 2, progress: false}
"""
OTHERS = [("cnn", "soak-cnn"), ("rnn", "soak-rnn"), ("mlp", "soak-mlp")]


def checkout(folder: Path) -> Path:
    make_project(folder, folder.parent / f"{folder.name}-unused-remote")
    for name in ("components", "pipelines", "serving"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "prefect.yaml", folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=4)
    parser.add_argument("--promotions", type=int, default=20)
    parser.add_argument("--at-once", type=int, default=4, help="racing commands per wave")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dlops-soak-"))
    first, second = checkout(base / "first"), checkout(base / "second")
    config = base / "tiny.yaml"
    config.write_text(TINY)
    folder = base / "stack"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_"))}
    up = subprocess.run(
        [DLOPS, "stack", "up", "--dir", str(folder), "--workers", "1"]
        + ["--mlflow-port", "5310", "--prefect-port", "4310", "--s3-port", "9310"]
        + ["--postgres-port", "55310"],
        env={**clean, "DLOPS_PROJECT_DIR": str(first)},
        capture_output=True,
        text=True,
    )
    if up.returncode != 0:
        raise SystemExit(up.stdout + up.stderr)
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in up.stdout.splitlines()
        if line.startswith("export ")
    )

    def env(root: Path) -> dict[str, str]:
        return {
            **clean,
            **exports,
            "DLOPS_PROJECT_DIR": str(root),
            "BENTOML_HOME": str(root / ".bentoml"),
        }

    def start(root: Path, *command: str) -> subprocess.Popen:
        return subprocess.Popen(
            [DLOPS, *command],
            env=env(root),
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    exits: Counter = Counter()
    refusals: Counter = Counter()
    crashes: dict[str, tuple] = {}
    try:
        subprocess.run(
            [DLOPS, "stack", "join", "--dir", str(folder)],
            env=env(second),
            capture_output=True,
            check=True,
        )
        started = time.perf_counter()
        # 1. pipelines at once: two of dlops-mlp (one per checkout), the others their own
        runs = [
            start(first, "run", "-f", "mlp", "--config", str(config)),
            start(second, "run", "-f", "mlp", "--config", str(config)),
        ]
        for index in range(args.pipelines - 2):
            family, name = OTHERS[index % len(OTHERS)]
            root = (first, second)[index % 2]
            runs.append(
                start(
                    root,
                    "run",
                    "-f",
                    family,
                    "--config",
                    str(config),
                    "--set",
                    f"registry.model_name={name}-{index}",
                )
            )
        for process in runs:
            process.communicate()
            exits[f"run exit {process.returncode}"] += 1
        pipelines_s = time.perf_counter() - started
        # 2. racing promotions and rollbacks of dlops-mlp from both checkouts
        started = time.perf_counter()
        racers: list[subprocess.Popen] = []
        for index in range(args.promotions):
            if index % args.at_once == 0:  # a wave of racers at once, then the next
                for process in racers[-args.at_once :]:
                    process.wait()
            root = (first, second)[index % 2]
            if index % 3 == 2:
                racers.append(start(root, "rollback", "mlp"))
            else:
                version = "1" if index % 2 else "2"
                racers.append(
                    start(
                        root, "promote", "mlp", "--version", version, "--force", "--reason", "soak"
                    )
                )
        for process in racers:
            out, err = process.communicate()
            exits[f"promote/rollback exit {process.returncode}"] += 1
            if process.returncode != 0:  # why, in the command's own words
                refusals[(err.strip().splitlines() or out.strip().splitlines() or ["?"])[-1]] += 1
        promotions_s = time.perf_counter() - started
        # 3. a run killed half-way, then repair
        victim = start(
            first,
            "run",
            "-f",
            "mlp",
            "--config",
            str(config),
            "--set",
            "train.epochs=100000",
            "--set",
            "train.patience=100000",
        )
        time.sleep(40)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        repaired = subprocess.run(
            [DLOPS, "repair", "--json"], env=env(second), capture_output=True, text=True
        )
        # 4. kill -9 at each named step boundary, then a re-run; the invariants after each
        from components.runtime.faults import FAULT_ENV, POINTS

        for point in POINTS:
            name = f"soak-crash-{point}"
            command = [DLOPS, "run", "-f", "mlp", "--config", str(config)]
            command += ["--set", f"registry.model_name={name}"]
            killed = subprocess.run(
                command, env={**env(first), FAULT_ENV: point}, capture_output=True, text=True
            )
            rerun = subprocess.run(command, env=env(second), capture_output=True, text=True)
            after = subprocess.run(
                [DLOPS, "repair", "--check", "--json"], env=env(second), capture_output=True,
                text=True,
            )  # fmt: skip
            crashes[point] = (
                killed.returncode,
                rerun.returncode,
                json.loads(after.stdout) if after.stdout.strip() else [after.stderr],
            )
        check = subprocess.run(
            [DLOPS, "repair", "--check", "--json"], env=env(second), capture_output=True, text=True
        )
        violations = json.loads(check.stdout) if check.stdout.strip() else [check.stderr]
        history = json.loads(
            subprocess.run(
                [DLOPS, "history", "mlp", "-m", "dlops-mlp", "--json"],
                env=env(second),
                capture_output=True,
                text=True,
            ).stdout
        )
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=exports["MLFLOW_TRACKING_URI"])
        experiments = [e.experiment_id for e in client.search_experiments()]
        all_runs = client.search_runs(experiments, max_results=5000)
        versions = client.search_model_versions("", max_results=1000)
    finally:
        subprocess.run([DLOPS, "stack", "down", "--dir", str(folder)], capture_output=True)
    print(f"\n{platform.node()}: {len(os.sched_getaffinity(0))} cores; stack in {folder}")
    print(
        f"{args.pipelines} pipelines at once: {pipelines_s:.0f} s; "
        f"{args.promotions} racing promotions/rollbacks ({args.at_once} at once): "
        f"{promotions_s:.0f} s"
    )
    print("exits:", dict(sorted(exits.items())))
    for message, count in refusals.most_common():
        print(f"  {count} x {message[:300]}")
    print(
        f"runs: {len(all_runs)} ({dict(Counter(r.info.status for r in all_runs))}); "
        f"versions: {len(versions)}; dlops-mlp ledger entries: {len(history)}"
    )
    print("repair:", json.loads(repaired.stdout) if repaired.stdout.strip() else repaired.stderr)
    for point, (killed, rerun, found) in crashes.items():
        print(f"kill -9 {point}: exit {killed}; re-run exit {rerun}; violations after: {found}")
    print(f"invariant violations: {len(violations)}", violations)


if __name__ == "__main__":
    main()
