"""Every family of configs/pipeline.yaml one after another, then all at once, as `make run` does.

Each mode is `dlops run` (the real command, its own process and temporary Prefect server) in a
fresh project of its own, like a fresh clone: the built-in data is written, validated, versioned,
trained, gated and packaged with the built-in configs. Sequential is `pipeline.parallel: 1` (one
family at a time in the command's process, every core's torch threads for it); at once is the
default (each family a process of Prefect's pool, the cores' threads split between them).
Prints each mode's wall time, the ratio (goal ≤ 0.6) and each family's training-run time.

    .venv/bin/python benchmarks/families_at_once.py [--families mlp cnn ...] [--modes at-once]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repo: tests/ helpers
from tests.conftest import make_project  # noqa: E402

DLOPS = str(Path(sys.executable).parent / "dlops")


def fresh_project(base: Path) -> Path:
    """A project like a fresh clone: configs, the committed data pointers and contracts."""
    root = make_project(base / "project", base / "dvc-remote")
    (root / "data").mkdir()
    for path in (REPO / "data").glob("*.dvc"):
        shutil.copy(path, root / "data")
    for path in (REPO / "data").glob("*.contract.json"):
        shutil.copy(path, root / "data")
    return root


def run(mode: str, families: list[str] | None) -> dict:
    base = Path(tempfile.mkdtemp(prefix=f"dlops-{mode}-"))
    root = fresh_project(base)
    env = {
        **os.environ,
        "DLOPS_PROJECT_DIR": str(root),
        "BENTOML_HOME": str(base / "bentoml"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
        "PREFECT_HOME": str(base / "prefect"),
    }
    args = [DLOPS, "run"] + [f"--family={f}" for f in families or []]
    if mode == "sequential":
        overlay = base / "sequential.yaml"
        overlay.write_text("pipeline:\n  parallel: 1\n")
        args += ["--config", str(overlay)]
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    (base / "output.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        print(done.stdout[-5000:], done.stderr[-3000:])
        raise SystemExit(f"{mode}: dlops run failed (exit {done.returncode}); log {base}")
    return {"mode": mode, "wall_s": wall, "runs": training_times(env), "log": str(base)}


def training_times(env: dict[str, str]) -> dict[str, float]:
    """Each family's training run: seconds from its start to its end (MLflow's record)."""
    code = (
        "import json; from mlflow import MlflowClient; c = MlflowClient(); "
        "ids = [e.experiment_id for e in c.search_experiments()]; "
        "runs = c.search_runs(ids, \"tags.`dlops.kind` = 'training'\"); "
        "print(json.dumps({r.data.tags['family']: (r.info.end_time - r.info.start_time) / 1000 "
        "for r in runs}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=None, help="default: pipeline.yaml's")
    parser.add_argument("--modes", default="sequential,at-once")
    args = parser.parse_args()
    results = [run(mode, args.families) for mode in args.modes.split(",")]
    cores = len(os.sched_getaffinity(0))
    print(f"\n{platform.node()}: {cores} cores, {platform.processor() or platform.machine()}")
    for result in results:
        print(f"{result['mode']:>10}: {result['wall_s']:7.1f} s  (log {result['log']})")
    if len(results) == 2:
        print(f"     ratio: {results[1]['wall_s'] / results[0]['wall_s']:.2f} (goal <= 0.6)")
    families = sorted({f for r in results for f in r["runs"]})
    print("training run (s): " + ", ".join(r["mode"] for r in results))
    for family in families:
        print(f"  {family:>9}: " + ", ".join(f"{r['runs'].get(family, 0):7.1f}" for r in results))


if __name__ == "__main__":
    main()
