"""Datasets and their batches: arrays held in memory, or examples read from files as they go.

Every kind hands the trainer and the scorers torch `Dataset`s of `(x, y)` examples. Small data
(a table, a series, a few thousand decoded images) is an `ArrayDataset`: the batches are slices
of tensors already on the device, the fast path. Anything else is read by a `DataLoader`, with
worker processes when the examples come from files, so memory holds a few batches, not the data.
Both paths visit the examples in the same order for the same seed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class ArrayDataset(Dataset):
    """Examples held in memory: inputs `x` (N, ...) and targets `y` (N, ...), numpy or torch."""

    def __init__(self, x, y):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int):
        return self.x[index], self.y[index]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.x), np.asarray(self.y)


def as_dataset(data) -> Dataset:
    """A dataset as it is, or an `(x, y)` pair of arrays/tensors as an `ArrayDataset`."""
    if isinstance(data, tuple):
        return ArrayDataset(*data)
    return data


def batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Index batches over `n` rows: shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))


class IndexBatches(Sampler[list[int]]):
    """`batches` as a DataLoader batch sampler: a new permutation from `generator` per pass."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator | None):
        self.n, self.batch_size, self.generator = n, batch_size, generator

    def __iter__(self) -> Iterator[list[int]]:
        for idx in batches(self.n, self.batch_size, self.generator):
            yield idx.tolist()

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)


def stack_arrays(examples: list) -> tuple[np.ndarray, np.ndarray]:
    """A batch of `(x, y)` examples as two numpy arrays.

    Arrays, not tensors: a worker's batch then reaches the trainer through a pipe, as bytes the
    trainer owns, rather than as a shared-memory tensor (the trainer grew by hundreds of MB over
    a pass holding on to those).
    """
    xs, ys = zip(*examples, strict=True)
    return np.stack([np.asarray(x) for x in xs]), np.asarray([np.asarray(y) for y in ys])


def default_workers() -> int:
    """Loader processes for file-backed data: one per core but one for training, at most 4."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _worker_start() -> str | None:
    """How DataLoader workers start: fork where the system has it, else its default.

    Fork is what torch does by default on Linux; a process that was itself spawned (a family
    trained in Prefect's process pool) would otherwise spawn its workers, and those cannot take
    the dataset's shared tensors over.
    """
    import multiprocessing

    return "fork" if "fork" in multiprocessing.get_all_start_methods() else None


@dataclass
class Batches:
    """The batches of one dataset on one device, pass after pass (iterate it once per epoch).

    An `ArrayDataset` is moved to the device once and sliced; any other dataset is read by a
    DataLoader with `workers` processes (persistent across passes). With a `generator` each pass
    is shuffled by it, the same order on both paths; without one, examples come in order.
    """

    dataset: Dataset
    batch_size: int
    device: torch.device
    generator: torch.Generator | None = None
    workers: int = 0

    def __post_init__(self) -> None:
        self._tensors = None
        self._loader = None
        if isinstance(self.dataset, ArrayDataset):
            self._tensors = tuple(
                torch.as_tensor(t).to(self.device) for t in (self.dataset.x, self.dataset.y)
            )
        else:
            self._loader = DataLoader(
                self.dataset,
                batch_sampler=IndexBatches(len(self.dataset), self.batch_size, self.generator),
                num_workers=self.workers,
                persistent_workers=self.workers > 0,
                collate_fn=stack_arrays,
                # fork where there is one: the default on Linux, also inside a process that was
                # spawned (a family of `dlops run` trained in Prefect's process pool)
                multiprocessing_context=_worker_start() if self.workers > 0 else None,
                # its own seed source: the global RNG stays as the model's augmentations left it
                generator=torch.Generator().manual_seed(0),
            )

    def __len__(self) -> int:
        """The number of examples (not of batches)."""
        return len(self.dataset)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self._tensors is not None:
            x, y = self._tensors
            for idx in batches(len(x), self.batch_size, self.generator):
                yield x[idx], y[idx]
            return
        for x, y in self._loader:
            yield torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)
