"""Image folders read from their files vs decoded into memory: peak memory and throughput.

Generates class folders of 32x32 grayscale PNGs (the digits, enlarged, shifted and noised; the
same files for the same count), then trains the CNN kind on them for a fixed number of epochs in
a fresh process per measurement, once streaming from the files (`data.in_memory_mb=0`: a
DataLoader with worker processes) and once with every image decoded into memory first. Each
process reports its peak resident memory (the trainer and, separately, its loader workers) and
the training throughput (training examples x epochs / seconds in `fit`, validation included).

    python benchmarks/streaming.py --sizes 10000 100000

Torch runs one thread in every measurement (both paths alike); the loader uses the kind's
default worker count (one per core but one: 1 on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZE = 32
EPOCHS = 2


def generate(folder: Path, n: int, seed: int = 0) -> None:
    """`n` PNGs in 10 class folders: sklearn's digits enlarged to 32x32, moved and noised."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    base = digits.images / 16.0  # (1797, 8, 8) in [0, 1]
    rng = np.random.default_rng(seed)
    for label in range(10):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
    picks = rng.integers(0, len(base), n)
    shifts = rng.integers(0, 9, (n, 2))
    for i, (pick, (dy, dx)) in enumerate(zip(picks, shifts, strict=True)):
        canvas = rng.uniform(0, 0.15, (SIZE, SIZE))
        big = np.kron(base[pick], np.ones((3, 3)))  # 24x24
        canvas[dy : dy + 24, dx : dx + 24] = np.maximum(canvas[dy : dy + 24, dx : dx + 24], big)
        pixels = np.rint(np.clip(canvas, 0, 1) * 255).astype(np.uint8)
        target = folder / str(digits.target[pick]) / f"{i:06d}.png"
        Image.fromarray(pixels, mode="L").save(target)


def measure(folder: Path, streaming: bool) -> dict:
    """One measurement in this process: split, train the CNN, report memory and throughput."""
    import torch

    from components.kinds import kind_for
    from components.models import build_model
    from components.runtime.device import seed_everything
    from components.settings import FamilySettings

    torch.set_num_threads(1)
    settings = FamilySettings(
        family="cnn",
        data={
            "source": "builtin",
            "target": "class",
            "image": {"size": SIZE, "mode": "L"},
            "in_memory_mb": 0 if streaming else 100_000,
        },
        model={"channels": [16, 32], "kernel_size": 3, "dropout": 0.1, "shift": 1},
        train={"epochs": EPOCHS, "batch_size": 64, "patience": 5, "progress": False},
    )
    kind = kind_for("cnn")
    start = time.perf_counter()
    split = kind.load_split(folder, settings)
    split_s = time.perf_counter() - start
    seed_everything(0)
    model = build_model("cnn", settings.model, split.dims)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        result = kind.fit(model, split, settings, torch.device("cpu"), Path(work))
    fit_s = time.perf_counter() - start
    train = split.size("train")
    return {
        "images": sum(split.size(p) for p in split.data),
        "path": "stream" if streaming else "memory",
        "workers": split.workers if streaming else 0,
        "split_s": round(split_s, 2),
        "fit_s": round(fit_s, 2),
        "examples_per_s": round(train * len(result.history) / fit_s),
        "val_accuracy": round(result.history[-1]["val_accuracy"], 4),
        # ru_maxrss is in KiB on Linux; children: the largest loader worker
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "worker_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path, interleaved")
    parser.add_argument("--folder", type=Path, help="where to generate (default: a temp folder)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--streaming", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.streaming)))
        return
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, torch threads 1")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.folder or Path(tmp)
        for n in args.sizes:
            folder = root / f"images-{n}"
            if not folder.exists():
                start = time.perf_counter()
                generate(folder, n)
                print(f"generated {n} PNGs in {time.perf_counter() - start:.1f} s")
            runs: dict[bool, list[dict]] = {True: [], False: []}
            for _ in range(args.repeats):
                for streaming in (True, False):
                    command = [sys.executable, __file__, "--measure", str(folder)]
                    out = subprocess.run(
                        command + (["--streaming"] if streaming else []),
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    runs[streaming].append(json.loads(out.stdout.strip().splitlines()[-1]))
                    print(json.dumps(runs[streaming][-1]), flush=True)
            summary = {
                path: {
                    "median_examples_per_s": statistics.median(r["examples_per_s"] for r in rs),
                    "max_peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
                    "max_worker_peak_rss_mib": max(r["worker_peak_rss_mib"] for r in rs),
                }
                for path, rs in (("stream", runs[True]), ("memory", runs[False]))
            }
            ratio = (
                summary["memory"]["median_examples_per_s"]
                / summary["stream"]["median_examples_per_s"]
            )
            print(json.dumps({"images": n, **summary, "slowdown": round(ratio, 3)}), flush=True)


if __name__ == "__main__":
    main()
