"""How long `dlops run` takes to refuse a user's file: missing, malformed, or breaking the contract.

Each case runs `dlops run --family mlp --set data.source=csv:PATH` as its own process in a fresh
project folder (the repository's configs, its own tracking store and Prefect home), 3 times;
the median wall time to exit, the exit code and the last line printed are reported. For the
contract case the good file is first accepted (`dlops data ingest`, which stores the model's
contract), then replaced by one without a column.

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


def environment(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DLOPS_PROJECT_DIR": str(root),
        "PREFECT_HOME": str(root / ".prefect"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
    }


def refuse(source: str, root: Path, command: str = "run") -> tuple[float, int, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [DLOPS, *command.split(), "--family", "mlp", "--set", f"data.source=csv:{source}"],
        env=environment(root),
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
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        (root / ".dvc").mkdir()  # a git + DVC project with its own local remote, as a clone has
        (root / ".dvc" / "config").write_text(
            f"[core]\n    remote = local\n['remote \"local\"']\n    url = {root / 'remote'}\n"
        )
        malformed = root / "malformed.csv"
        malformed.write_text("a,target\n1,0\n2,1\n")  # too few rows
        changed = root / "changed.csv"
        rows = "".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(60))
        changed.write_text("a,b,target\n" + rows)
        accepted = refuse(str(changed), root, command="data ingest")  # the model's contract
        assert accepted[1] == 0, accepted
        changed.write_text("a,target\n" + "".join(f"{i % 7},{i % 2}\n" for i in range(60)))
        cases = (("missing", root / "nope.csv"), ("malformed", malformed), ("contract", changed))
        for name, source in cases:
            runs = [refuse(str(source), root) for _ in range(3)]
            seconds = statistics.median(r[0] for r in runs)
            print(f"{name}: median {seconds:.1f} s, exit {runs[0][1]}, last line: {runs[0][2]}")


if __name__ == "__main__":
    main()
