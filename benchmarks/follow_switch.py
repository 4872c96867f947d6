"""A served model follows promotions and rollbacks under load: failed requests, switch times.

A fresh project (like a fresh clone) trains the MLP twice with tiny configs (two versions of
`dlops-mlp`), then `dlops serve mlp --poll P` runs while `--clients` threads post `/predict`
without pause, and the champion moves `--moves` times: `dlops promote mlp --version 2 --force`
and `dlops rollback mlp`, alternately (the real commands: gate, ledger, alias). A switch is
timed from the command's return to the first request sent after it that the new version
answered. Goal: 0 failed requests; each switch within the poll interval + the load time.

    .venv/bin/python benchmarks/follow_switch.py [--clients 16] [--moves 10] [--poll 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.conftest import make_project  # noqa: E402

DLOPS = str(Path(sys.executable).parent / "dlops")
TINY = "mlp:\n  model: {hidden_sizes: [16]}\n  train: {epochs: 15, patience: 5, progress: false}\n"


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--poll", type=float, default=1.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dlops-follow-"))
    root = make_project(base / "project", base / "dvc-remote")
    (root / "data").mkdir(exist_ok=True)
    for path in (REPO / "data").glob("*.dvc"):
        shutil.copy(path, root / "data")
    for path in (REPO / "data").glob("*.contract.json"):
        shutil.copy(path, root / "data")
    config = base / "tiny.yaml"
    config.write_text(TINY)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PREFECT_"))},
        "DLOPS_PROJECT_DIR": str(root),
        "BENTOML_HOME": str(base / "bentoml"),
        "PREFECT_HOME": str(base / "prefect"),
    }

    def dlops(*command: str) -> subprocess.CompletedProcess:
        done = subprocess.run([DLOPS, *command], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(
                f"dlops {' '.join(command)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return done

    for seed in ("1", "2"):  # two versions of dlops-mlp
        dlops("run", "-f", "mlp", "--config", str(config), "--set", f"train.seed={seed}")
    from mlflow import MlflowClient

    registry = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow' / 'mlflow.db'}")
    port = 3900
    server = subprocess.Popen(
        [DLOPS, "serve", "mlp", "--poll", str(args.poll), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    answered: list[tuple[float, str]] = []
    failed: list[str] = []
    stop = threading.Event()
    rows = [[float(i % 7) for i in range(30)]] * 4

    def load() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    response = http.post(f"{url}/predict", json={"rows": rows})
                except httpx.HTTPError as exc:
                    failed.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failed.append(f"{response.status_code} {response.text[:200]}")
                else:
                    answered.append((sent, response.json()["model_version"]))

    switches: list[float] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("dlops serve was not ready in 120 s")
            time.sleep(0.2)
        champion = httpx.post(f"{url}/metadata", timeout=10).json()["model_version"]
        clients = [threading.Thread(target=load) for _ in range(args.clients)]
        for thread in clients:
            thread.start()
        for move in range(args.moves):
            if champion == "2":
                dlops("rollback", "mlp")
            else:
                dlops("promote", "mlp", "--version", "2", "--force", "--reason", "benchmark")
            moved = time.monotonic()
            target = str(registry.get_model_version_by_alias("dlops-mlp", "champion").version)
            while not any(t > moved and v == target for t, v in answered[-args.clients * 4 :]):
                if time.monotonic() - moved > 120:
                    raise SystemExit(f"move {move}: no answer from v{target} in 120 s")
                time.sleep(0.02)
            switches.append(time.monotonic() - moved)
            champion = target
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"\n{platform.node()}: {len(os.sched_getaffinity(0))} cores; project {root}")
    print(f"{args.clients} clients, {args.moves} moves (promote / rollback), poll {args.poll} s")
    print(f"requests answered: {len(answered)}; failed: {len(failed)} {failed[:3]}")
    print(
        f"switch after the command returned: median {statistics.median(switches):.2f} s, "
        f"max {max(switches):.2f} s ({', '.join(f'{s:.2f}' for s in switches)})"
    )


if __name__ == "__main__":
    main()
