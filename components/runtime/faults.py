"""Named crash points: a test kills the process at one of them, as `kill -9` would.

`DLOPS_FAULT_AT=<point>` in the environment makes the process SIGKILL itself when it reaches
that point; unset (always, outside the crash tests) a point costs one dictionary lookup. The
points are the chain's step boundaries: what `dlops repair` and a re-run must converge from.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "DLOPS_FAULT_AT"
POINTS = (
    "after-validation",  # the data passed its gate; nothing versioned yet
    "while-pushing",  # `dvc add` wrote the pointer; the remote has not all the files
    "after-data-version",  # the data version is written and pushed
    "after-registration",  # the version exists; the gate has not decided
    "while-packaging",  # the BentoML model is in the store; its Bento is not built
    "between-alias-and-ledger",  # the alias moved; the ledger entry is still pending
)


def fault_point(name: str) -> None:
    """Die here, at once and without cleaning up, when the environment names this point."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
