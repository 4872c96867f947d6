"""Per-epoch checkpoints: everything a killed run needs to continue to the same final weights.

A checkpoint holds the epoch, the model's weights, every optimizer's and scheduler's state, the
random state (python, numpy, torch CPU and CUDA, and the batch-order generator) and the trainer's
bookkeeping (history, best epoch and its weights, patience count). It is written to a temporary
file and renamed over the previous one, so a crash while writing leaves the last good one.
Loaded with `weights_only=True`: tensors and plain containers only, no pickled objects.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

FILE = "last.pt"


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, python_gauss = random.getstate()
    return {
        # as tensors: 625 python ints pickle ten times slower
        "python": (version, torch.tensor(internal, dtype=torch.int64), python_gauss),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "gauss": gauss,
        },
        "torch": torch.get_rng_state(),
        # only when this process uses CUDA (asking would start a CUDA context otherwise)
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "batches": generator.get_state(),
    }


def _set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal.tolist()), gauss))
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)
    generator.set_state(state["batches"])


@dataclass(frozen=True)
class Checkpointer:
    """Saves and restores the training state in `folder` (the run's store).

    `on_save(path)` is called after each checkpoint is in place, e.g. to share it with other
    machines (the tracking store's artifacts) so that a run moved to another worker resumes.
    """

    folder: Path
    on_save: Callable[[Path], None] | None = None

    @property
    def path(self) -> Path:
        return self.folder / FILE

    def exists(self) -> bool:
        return self.path.is_file()

    def epoch(self) -> int:
        """The last completed epoch saved here (0 when there is none)."""
        if not self.exists():
            return 0
        return int(torch.load(self.path, map_location="cpu", weights_only=True)["epoch"])

    def save(
        self,
        epoch: int,
        model: nn.Module,
        optimizers: list[torch.optim.Optimizer],
        schedulers: list,
        generator: torch.Generator,
        result,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Write the state after `epoch` (1-based) completed; atomically replaces the last one.

        `extra`: a training loop's own state (tensors and plain containers), e.g. an agent's
        replay buffer and its environments' episodes in flight; `restore` gives it back.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizers": [opt.state_dict() for opt in optimizers],
            "schedulers": [s.state_dict() for s in schedulers],
            "rng": _rng_state(generator),
            "result": {
                "history": result.history,
                "best_epoch": result.best_epoch,
                "best_val_loss": result.best_val_loss,
                "since_best": result.since_best,
                "stopped_early": result.stopped_early,
                "best_state": result.best_state,
            },
            "extra": extra or {},
        }
        partial = self.path.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self.path)
        if self.on_save is not None:
            self.on_save(self.path)

    def copy_from(self, other: Checkpointer) -> None:
        """Take over `other`'s checkpoint (a resumed run starts from a copy in its own store)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        shutil.copyfile(other.path, partial)
        os.replace(partial, self.path)

    def restore(
        self,
        model: nn.Module,
        optimizers: list[torch.optim.Optimizer],
        schedulers: list,
        generator: torch.Generator,
        result,
        device: torch.device,
        extra: dict[str, Any] | None = None,
    ) -> int:
        """Load the saved state into the given objects; return the epoch to continue after.

        `extra`, when given, is filled with the loop's own state saved beside it.
        """
        state = torch.load(self.path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        for opt, saved in zip(optimizers, state["optimizers"], strict=True):
            opt.load_state_dict(saved)
        for scheduler, saved in zip(schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(saved)
        saved = state["result"]
        result.history = list(saved["history"])
        result.best_epoch = saved["best_epoch"]
        result.best_val_loss = saved["best_val_loss"]
        result.since_best = saved["since_best"]
        result.stopped_early = saved["stopped_early"]
        result.best_state = saved["best_state"]
        rng = state["rng"]
        rng["torch"] = rng["torch"].cpu()
        rng["cuda"] = [s.cpu() for s in rng["cuda"]]
        rng["batches"] = rng["batches"].cpu()
        _set_rng_state(rng, generator)
        if extra is not None:
            extra.update(state.get("extra", {}))
        return int(state["epoch"])

    def remove(self) -> None:
        """Delete the checkpoint (the run finished, or a later run resumed from it)."""
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".partial").unlink(missing_ok=True)
