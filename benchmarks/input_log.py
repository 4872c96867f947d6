"""Response time of a served model with the served-input log on and off (p50, p95).

Run in the repository after `make run` (the MLP and CNN champions in the BentoML store): each
family is served by a real `bentoml serve` twice, logging on (sample rate 1: every request) and
off, in alternating rounds so a slower moment of the machine hits both alike; each round sends
`--requests` sequential requests of one row / one image after a warm-up. Logs go to a temporary
folder. Target: p50 on / off <= 1.1.

    python benchmarks/input_log.py [--requests 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tag(family: str) -> str:
    """The champion's BentoML store tag (imported by `dlops serve`'s own path)."""
    from components.config import load_family
    from components.packaging import bento
    from components.project import Project, setup_environment
    from components.registry.versions import version_settings

    project = Project.current()
    setup_environment(project)
    name = f"dlops-{family}"
    version = bento.champion(name, family)
    settings = version_settings(name, version, lambda: load_family(project, family))
    return str(bento.import_version(settings, version))


def _latencies(family: str, tag: str, log_root: str | None, body: dict, n: int) -> list[float]:
    import httpx

    port = _port()
    env = {**os.environ, "DLOPS_MODEL_TAG": tag, "DLOPS_INPUT_LOG": log_root or ""}
    cli = str(Path(sys.executable).parent / "bentoml")
    process = subprocess.Popen(
        [cli, "serve", f"serving.{family}:Service", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        times = []
        with httpx.Client() as client:
            for i in range(n + 50):  # the first 50: warm-up
                start = time.perf_counter()
                answer = client.post(f"{url}/predict", json=body, timeout=30)
                elapsed = time.perf_counter() - start
                assert answer.status_code == 200, answer.text
                if i >= 50:
                    times.append(elapsed)
        return times
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from sklearn.datasets import load_breast_cancer, load_digits

    bodies = {
        "mlp": {"rows": [load_breast_cancer().data[0].tolist()]},
        "cnn": {"images": [(load_digits().images[0] / 16).tolist()]},
    }
    with tempfile.TemporaryDirectory() as logs:
        for family, body in bodies.items():
            tag = _tag(family)
            times: dict[str, list[float]] = {"on": [], "off": []}
            for _ in range(args.rounds):
                for mode in ("on", "off"):
                    root = logs if mode == "on" else None
                    times[mode] += _latencies(family, tag, root, body, args.requests)
            p50 = {m: statistics.median(t) * 1000 for m, t in times.items()}
            p95 = {m: statistics.quantiles(t, n=20)[-1] * 1000 for m, t in times.items()}
            logged = sum(1 for _ in Path(logs).rglob("part-*.parquet"))
            print(
                f"{family}: p50 on {p50['on']:.2f} ms, off {p50['off']:.2f} ms, "
                f"ratio {p50['on'] / p50['off']:.3f}; p95 on {p95['on']:.2f} ms, "
                f"off {p95['off']:.2f} ms; {len(times['on'])} requests each, "
                f"{logged} log files written"
            )


if __name__ == "__main__":
    main()
