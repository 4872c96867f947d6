"""What the seq2seq family reaches in a given config: chrF and BLEU beside its two baselines.

Trains the translator on the built-in Ding pairs (written into a temporary folder, or `--data`)
with the family's config and the `--set` overrides given, on the device the config names, and
prints the test metrics, the training time and the epochs run. Nothing is registered: it measures
a config, as `BENCHMARKS.md` reports it (the built-in CPU config, and longer ones).

    python benchmarks/translation_budget.py --threads 2
    python benchmarks/translation_budget.py --threads 2 \
        --set data.pairs.builtin_max_source_words=null \
        --set train.epochs=20 --set model.hidden_size=256
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (stated with results)"
    )
    parser.add_argument("--data", type=Path, help="a folder of data.csv (+ dictionary.csv)")
    args = parser.parse_args()

    import torch

    from components.config import load_family
    from components.kinds import kind_for
    from components.models import build_model
    from components.project import Project
    from components.runtime.device import resolve_device

    torch.set_num_threads(args.threads)
    settings = load_family(
        Project.current(), "seq2seq", overrides=[*args.overrides, "train.progress=false"]
    )
    kind = kind_for("seq2seq")
    folder = args.data or Path(tempfile.mkdtemp(prefix="dlops-translation-"))
    if args.data is None:
        kind.write_builtin("seq2seq", folder)
    split = kind.load_split(folder, settings)
    device = resolve_device(settings.train.device)
    model = build_model("seq2seq", settings.model, split.dims)
    started = time.perf_counter()
    result = kind.fit(model, split, settings, device, folder)
    trained = time.perf_counter() - started
    card = kind.make_card(settings, split, best_epoch=result.best_epoch)
    metrics = kind.score(model.cpu(), card, split)
    print(
        json.dumps(
            {
                "overrides": args.overrides,
                "threads": args.threads,
                "device": str(device),
                "pairs": {part: split.size(part) for part in split.data},
                "parameters": sum(p.numel() for p in model.parameters()),
                "train_seconds": round(trained, 1),
                "epochs_run": len(result.history),
                "best_epoch": result.best_epoch,
                "metrics": {k: round(v, 2) for k, v in sorted(metrics.items())},
                "verdict": kind.verdict(metrics),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
