"""A service's cold start, stage by stage: from `bentoml serve` to `/readyz` answering 200.

Each stage in a fresh Python process of its own (what a new service process pays): importing
BentoML, torch, the service module (our code and the kind's libraries), the BentoML store
lookup, and loading the model (weights + card). Then the whole `bentoml serve` to the first 200
of `/readyz`; what the stages do not explain is BentoML's own start (its process supervisor,
the worker process, the HTTP server). Medians of `--repeats` runs.

    .venv/bin/python benchmarks/cold_start.py [--family mlp] [--tag dlops-mlp:latest]

The model must be in the BentoML store (`make run` puts the built-in models there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = """
import json, os, sys, time
marks = [("start", time.perf_counter())]
import bentoml
marks.append(("import bentoml", time.perf_counter()))
import torch
marks.append(("import torch", time.perf_counter()))
import importlib
service = importlib.import_module(f"serving.{sys.argv[1]}")
marks.append(("import the service module", time.perf_counter()))
stored = bentoml.models.get(os.environ["DLOPS_MODEL_TAG"])
marks.append(("store lookup", time.perf_counter()))
from serving.common import load
load(stored)
marks.append(("model load", time.perf_counter()))
print(json.dumps({b[0]: b[1] - a[1] for a, b in zip(marks, marks[1:])}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stages(family: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", STAGES, family], env=env, cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def serve_to_ready(family: str, env: dict[str, str]) -> float:
    import httpx

    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "bentoml"), "serve", f"serving.{family}:Service",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        while time.perf_counter() - started < 120:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit("not ready in 120 s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="mlp")
    parser.add_argument("--tag", default=None, help="BentoML model tag (default: dlops-FAMILY)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DLOPS_MODEL_TAG": args.tag or f"dlops-{args.family}:latest",
        "DLOPS_FOLLOW": "",
        "BENTOML_DO_NOT_TRACK": "True",
        "PYTHONPATH": str(REPO),
    }
    measured = [stages(args.family, env) for _ in range(args.repeats)]
    totals = [serve_to_ready(args.family, env) for _ in range(args.repeats)]
    print(f"\n{platform.node()}: {len(os.sched_getaffinity(0))} cores, {args.family}")
    explained = 0.0
    for stage in measured[0]:
        value = statistics.median(m[stage] for m in measured)
        explained += value
        print(f"{stage:>28}: {value:6.2f} s")
    total = statistics.median(totals)
    print(f"{'bentoml serve → /readyz':>28}: {total:6.2f} s")
    print(f"{'BentoML own start (rest)':>28}: {total - explained:6.2f} s")


if __name__ == "__main__":
    main()
