"""Response time of a served model with the served-input log on and off (p50, p95).

Run in the repository after `make run` (the MLP and CNN champions in the BentoML store). Each
round starts two real `bentoml serve` processes of the family's champion, one logging every
request (sample rate 1) and one not, and sends them `--requests` requests each, alternating
between the two, so whatever the machine is doing hits both alike; a fresh pair per round
(servers differ from start to start). One row / one image per request, after a warm-up of 50
each. Logs go to a temporary folder; the rows logged are counted (a stopped server writes out
what it buffered). Target: p50 on / off <= 1.1.

    python benchmarks/input_log.py [--requests 400] [--rounds 5]
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
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
WARM_UP = 50


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tag(family: str) -> str:
    """The champion's BentoML store tag (imported as `dlops serve` does)."""
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


@contextmanager
def _served(family: str, tag: str, log_root: str | None):
    """A `bentoml serve` of the family's service; yields its URL once it is ready."""
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
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _round(family: str, tag: str, logs: str, body: dict, n: int) -> dict[str, list[float]]:
    """One pair of servers, requests alternating between them: latencies by mode."""
    import httpx

    times: dict[str, list[float]] = {"on": [], "off": []}
    with ExitStack() as stack:
        urls = {
            "on": stack.enter_context(_served(family, tag, logs)),
            "off": stack.enter_context(_served(family, tag, None)),
        }
        client = stack.enter_context(httpx.Client())
        for i in range(n + WARM_UP):
            order = ("on", "off") if i % 2 == 0 else ("off", "on")
            for mode in order:
                start = time.perf_counter()
                answer = client.post(f"{urls[mode]}/predict", json=body, timeout=30)
                elapsed = time.perf_counter() - start
                assert answer.status_code == 200, answer.text
                if i >= WARM_UP:
                    times[mode].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import pyarrow.parquet as pq
    from sklearn.datasets import load_breast_cancer, load_digits

    bodies = {
        "mlp": {"rows": [load_breast_cancer().data[0].tolist()]},
        "cnn": {"images": [(load_digits().images[0] / 16).tolist()]},
    }
    with tempfile.TemporaryDirectory() as logs:
        for family, body in bodies.items():
            tag = _tag(family)
            times: dict[str, list[float]] = {"on": [], "off": []}
            ratios = []
            for _ in range(args.rounds):
                measured = _round(family, tag, logs, body, args.requests)
                for mode, values in measured.items():
                    times[mode] += values
                ratios.append(
                    statistics.median(measured["on"]) / statistics.median(measured["off"])
                )
            p50 = {m: statistics.median(t) * 1000 for m, t in times.items()}
            p95 = {m: statistics.quantiles(t, n=20)[-1] * 1000 for m, t in times.items()}
            files = list(Path(logs).rglob(f"dlops-{family}/*/part-*.parquet"))
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            print(
                f"{family}: p50 on {p50['on']:.2f} ms, off {p50['off']:.2f} ms, "
                f"ratio {p50['on'] / p50['off']:.3f} (per round "
                f"{', '.join(f'{r:.2f}' for r in ratios)}); p95 on {p95['on']:.2f} ms, "
                f"off {p95['off']:.2f} ms; {len(times['on'])} requests each; {rows} rows "
                f"logged of {args.rounds * (args.requests + WARM_UP)} answered"
            )


if __name__ == "__main__":
    main()
