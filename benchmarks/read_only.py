"""How long the read-only commands take on the built-in project: status, history, no-op rollback.

Run in the repository after `make run` (four champions, each with one ledger entry): each
command is its own process, 5 times; the median wall time and the exit code are reported, and
whether the process imported torch, MLflow, Great Expectations or Prefect (`-X importtime`).

    python benchmarks/read_only.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "mlflow", "great_expectations", "prefect")
COMMANDS = (
    ("status",),
    ("history", "mlp"),
    ("rollback", "mlp", "--model", "dlops-mlp"),  # one champion: nothing to roll back to
)


def heavy_imports(args: tuple[str, ...]) -> list[str]:
    code = (
        f"import sys; sys.argv = ['dlops', *{list(args)!r}]; from pipelines.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=REPO, capture_output=True, text=True
    )
    seen = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    return [name for name in HEAVY if name in seen]


def main() -> None:
    dlops = str(Path(sys.executable).parent / "dlops")
    for args in COMMANDS:
        times, code = [], 0
        for _ in range(5):
            start = time.perf_counter()
            code = subprocess.run([dlops, *args], cwd=REPO, capture_output=True).returncode
            times.append(time.perf_counter() - start)
        heavy = ", ".join(heavy_imports(args)) or "none"
        print(
            f"dlops {' '.join(args)}: median {statistics.median(times):.2f} s, exit {code}, "
            f"heavy imports: {heavy}"
        )


if __name__ == "__main__":
    main()
