"""The served-input log: what a service answered, sampled, bounded, as rolling Parquet files.

A service asks `InputLog.sampled()` per request and, if so, calls `record` with the inputs it
answered (the columns its kind's `inference.logged` builds); the call only appends to a buffer.
A background thread writes the buffer every `flush_s` seconds as one Parquet file and deletes
the oldest files beyond `max_rows`, so a response never waits for the disk. `read_window` gives
the latest rows back to `dlops drift`. One folder per model version: `<root>/<model
name>/v<version>/`.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT_ENV = "DLOPS_INPUT_LOG"  # the log's root folder; unset or empty: nothing is logged
RATE_ENV = "DLOPS_INPUT_SAMPLE_RATE"
MAX_ROWS_ENV = "DLOPS_INPUT_MAX_ROWS"
ID, TIME = "_id", "_time"  # every row's id (a labels file names rows by it) and its Unix time


def _warm_up() -> None:
    """Import what writing a file imports (pyarrow, and the pandas it loads: ~0.5 s)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({ID: ["x"], TIME: np.zeros(1)}), pa.BufferOutputStream())


def folder_of(root: Path, model_name: str, version: str) -> Path:
    """Where a model version's served inputs are logged."""
    return Path(root) / model_name / f"v{version}"


class InputLog:
    """Buffered, sampled, size-bounded logging of served inputs (thread-safe)."""

    def __init__(
        self,
        folder: Path,
        sample_rate: float = 1.0,
        max_rows: int = 50_000,
        flush_s: float = 2.0,
        seed: int | None = None,
    ) -> None:
        if not 0 <= sample_rate <= 1:
            raise ValueError(f"sample rate {sample_rate} is not within [0, 1]")
        self.folder = Path(folder)
        self.sample_rate = sample_rate
        self.max_rows = max_rows
        self.flush_s = flush_s
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._buffer: list[tuple[str, float, int, dict[str, list]]] = []  # one per request
        self._rows = 0
        self._counts: dict[str, int] = {}  # rows per file, as read once
        _warm_up()  # at start-up, not under the first requests

        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="dlops-input-log", daemon=True)
        self._thread.start()

    def sampled(self) -> bool:
        """Whether to log this request (drawn at the sample rate)."""
        if self._closed or self.sample_rate <= 0:
            return False
        return self.sample_rate >= 1 or self._random.random() < self.sample_rate

    def record(self, columns: dict[str, Any]) -> None:
        """Log one request's rows (`columns`: name → a list or array, one value per row).

        Only appends: the writer thread builds the file. Every request logs the same columns.
        """
        if self._closed:
            return
        n = len(next(iter(columns.values()), []))
        if n == 0:
            return
        with self._lock:
            if self._rows < self.max_rows:  # a stalled disk never grows memory unbounded
                self._buffer.append((uuid.uuid4().hex[:12], time.time(), n, columns))
                self._rows += n

    def flush(self) -> int:
        """Write the buffer as one file now; the number of rows written."""
        with self._lock:
            requests, self._buffer, self._rows = self._buffer, [], 0
        if not requests:
            return 0
        import pyarrow as pa
        import pyarrow.parquet as pq

        table: dict[str, Any] = {
            ID: [f"{request}-{i}" for request, _, n, _ in requests for i in range(n)],
            TIME: np.repeat([when for _, when, _, _ in requests], [n for _, _, n, _ in requests]),
        }
        for name in requests[0][3]:
            parts = [columns[name] for _, _, _, columns in requests]
            if isinstance(parts[0], np.ndarray):  # numbers: no Python loop (one kind's columns)
                table[name] = np.concatenate(parts)
            else:
                table[name] = [value for part in parts for value in part]
        name = f"part-{time.time_ns()}-{os.getpid()}.parquet"
        partial = self.folder / f".{name}.partial"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table(table), partial)
            partial.rename(self.folder / name)  # readers never see half a file
        except Exception:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            with self._lock:  # kept for the next try, within the bound
                if self._rows + len(table[ID]) <= self.max_rows:
                    self._buffer[:0] = requests
                    self._rows += len(table[ID])
            raise
        self._trim()
        return len(table[ID])

    def _trim(self) -> None:
        """Delete the oldest files while the rest still hold `max_rows`."""
        import pyarrow.parquet as pq

        files = sorted(self.folder.glob("part-*.parquet"), reverse=True)  # newest first
        kept = 0
        for path in files:
            if kept >= self.max_rows:
                path.unlink(missing_ok=True)
                self._counts.pop(path.name, None)
                continue
            if path.name not in self._counts:  # files never change: each is read once
                try:
                    self._counts[path.name] = pq.ParquetFile(path).metadata.num_rows
                except OSError:  # removed by another worker meanwhile
                    continue
            kept += self._counts[path.name]

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # logging never takes the service down
                import logging

                logging.getLogger("dlops.inputs").warning("served inputs not logged: %s", exc)

    def close(self) -> None:
        """Write what is buffered and stop the writer."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()


def from_environment(model_name: str, version: str) -> InputLog | None:
    """The log `dlops serve` configured through the environment, or None (logging off)."""
    root = os.environ.get(ROOT_ENV, "").strip()
    if not root or not model_name or not version:
        return None
    import atexit

    rate = float(os.environ.get(RATE_ENV, "1") or 1)
    max_rows = int(os.environ.get(MAX_ROWS_ENV, "50000") or 50000)
    log = InputLog(folder_of(Path(root), model_name, version), rate, max_rows)
    atexit.register(log.close)  # a service stopped gracefully writes what it buffered
    return log


def read_window(folder: Path, rows: int, versions: bool = False):
    """The latest `rows` logged rows of a folder, oldest first (an empty frame when none).

    `versions=True` reads a model's folder: the rows every version of it answered.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    pattern = "v*/part-*.parquet" if versions else "part-*.parquet"
    files = sorted(Path(folder).glob(pattern), key=lambda path: path.name)  # by time
    frames, total = [], 0
    for path in reversed(files):  # newest first, until the window is full
        frame = pq.read_table(path).to_pandas()
        frames.append(frame)
        total += len(frame)
        if total >= rows:
            break
    if not frames:
        return pd.DataFrame()
    window = pd.concat(frames[::-1], ignore_index=True)
    return window.sort_values(TIME, kind="stable").tail(rows).reset_index(drop=True)
