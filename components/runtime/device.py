"""Where a model runs: device choice, seeding, autocast and the CPU thread count."""

from __future__ import annotations

import os
import random
from contextlib import contextmanager, nullcontext

import numpy as np
import torch


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device=cuda but no CUDA device is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("train.device=mps but no MPS device is available")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a generator for the batch order."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def autocast(device: torch.device):
    """bf16 autocast on CUDA; a no-op context elsewhere (CPU stays fp32 and deterministic)."""
    if device.type != "cuda":
        return nullcontext()  # cheaper than a disabled torch.autocast on every batch
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16)


SHARE_ENV = "DLOPS_CORE_SHARE"  # a folder: one file per process training now on these cores
_pinned = False  # inside `one_cpu_thread`: the share is not applied


def use_threads(count: int) -> None:
    """This process's torch CPU threads (a process of a pool takes its share of the cores)."""
    torch.set_num_threads(count)


def share_cores() -> None:
    """Torch threads = the cores / the processes training now; called before each epoch.

    Processes of a pool that train families at once each mark themselves in `DLOPS_CORE_SHARE`
    while they train; when the short families are done, the long ones take the freed cores.
    """
    folder = os.environ.get(SHARE_ENV)
    if not folder or _pinned:
        return
    try:
        busy = max(1, len(os.listdir(folder)))
    except OSError:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, (cores or 1) // busy)
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)


@contextmanager
def one_cpu_thread(device: torch.device):
    """Run small recurrent nets on CPU with one thread, then restore the thread count.

    Their per-step matrix products are far too small to split: extra threads only add
    synchronisation, and on a busy machine they run several times slower than one thread.
    """
    global _pinned
    threads, pinned = torch.get_num_threads(), _pinned
    if device.type == "cpu":
        torch.set_num_threads(1)
        _pinned = True
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        _pinned = pinned
