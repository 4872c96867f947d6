"""How long `dlops run` takes to refuse a user's file: missing, and present but malformed.

Each case runs `dlops run --family mlp --set data.source=csv:PATH` as its own process in a fresh
project folder (the repository's configs, its own tracking store and Prefect home), 3 times;
the median wall time to exit, the exit code and the last line printed are reported.

    python benchmarks/refused_file.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DLOPS = str(Path(sys.executable).parent / "dlops")


def refuse(source: str, root: Path) -> tuple[float, int, str]:
    env = {
        **os.environ,
        "DLOPS_PROJECT_DIR": str(root),
        "PREFECT_HOME": str(root / ".prefect"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
    }
    start = time.perf_counter()
    result = subprocess.run(
        [DLOPS, "run", "--family", "mlp", "--set", f"data.source=csv:{source}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return elapsed, result.returncode, lines[-1][:120] if lines else ""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "configs", root / "configs")
        malformed = root / "malformed.csv"
        malformed.write_text("a,target\n1,0\n2,1\n")  # too few rows, no features the model had
        for name, source in (("missing", root / "nope.csv"), ("malformed", malformed)):
            runs = [refuse(str(source), root) for _ in range(3)]
            seconds = statistics.median(r[0] for r in runs)
            print(f"{name}: median {seconds:.1f} s, exit {runs[0][1]}, last line: {runs[0][2]}")


if __name__ == "__main__":
    main()
