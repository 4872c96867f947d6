"""Trainer overhead: dlops' trainer against a minimal hand-written PyTorch loop.

Same model, data, batch size and number of epochs (early stopping off), runs interleaved in one
process, several repetitions; prints the median time ratio (ours / bare) per family, our
trainer's throughput (training examples per second, per-epoch validation and checkpoints
included) and the test metric of the model it trained.

    .venv/bin/python benchmarks/train_overhead.py [--families mlp cnn ...] [--repeats 5]
        [--device cuda] [--tile 10]   # --tile: the training split repeated N times
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from components.config import load_family
from components.kinds import kind_for
from components.kinds.base import PARTS
from components.models import build_model
from components.project import Project, setup_environment
from components.runtime.checkpoint import Checkpointer
from components.runtime.datasets import ArrayDataset, batches
from components.runtime.device import autocast, resolve_device, seed_everything

EPOCHS = {"mlp": 40, "cnn": 10, "rnn": 5, "gan": 5}


def bare_supervised(model, split, settings, device, loss_fn) -> None:
    """The loop a person writes by hand: shuffle, forward, loss, backward, step."""
    model.to(device)
    x = torch.as_tensor(split.x["train"]).to(device)
    y = torch.as_tensor(split.y["train"]).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=settings.train.learning_rate,
        weight_decay=settings.train.weight_decay,
    )
    generator = torch.Generator().manual_seed(settings.train.seed)
    model.train()
    for _ in range(settings.train.epochs):
        for idx in batches(len(x), settings.train.batch_size, generator):
            with autocast(device):
                output = model(x[idx])
            loss = loss_fn(output.float(), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def bare_gan(model, split, settings, device) -> None:
    """A hand-written conditional GAN loop: D step, G step (non-saturating), weight average."""
    from torch.nn.functional import binary_cross_entropy_with_logits as bce

    from components.models.gan import GANConfig

    config = GANConfig.model_validate(settings.model)
    model.to(device)
    images = torch.as_tensor(split.x["train"]).to(device) * 2 - 1
    labels = torch.as_tensor(split.y["train"]).to(device)
    betas = (config.beta1, 0.999)
    lr = settings.train.learning_rate
    g_opt = torch.optim.Adam(model.generator.parameters(), lr=lr, betas=betas)
    d_opt = torch.optim.Adam(
        model.discriminator.parameters(), lr=lr * config.d_lr_factor, betas=betas
    )
    generator = torch.Generator().manual_seed(settings.train.seed)
    model.train()
    for _ in range(settings.train.epochs):
        for idx in batches(len(images), settings.train.batch_size, generator):
            real, y = images[idx], labels[idx]
            z = torch.randn(len(idx), model.latent_dim, generator=generator).to(device)
            with torch.no_grad(), autocast(device):
                fake = model.generator(z, y)
            with autocast(device):
                real_logits = model.discriminator(real, y).float()
                fake_logits = model.discriminator(fake, y).float()
            d_loss = bce(real_logits, torch.full_like(real_logits, config.real_label)) + bce(
                fake_logits, torch.zeros_like(fake_logits)
            )
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
            z = torch.randn(len(idx), model.latent_dim, generator=generator).to(device)
            with autocast(device):
                logits = model.discriminator(model.generator(z, y), y).float()
            g_loss = bce(logits, torch.ones_like(logits))
            g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            g_opt.step()
            model.update_average()


def bare_loop(family: str):
    """The hand-written loop for the family's task kind."""
    kind = kind_for(family).name
    if kind in ("tabular_classification", "image_classification"):
        return lambda *a: bare_supervised(*a, torch.nn.functional.cross_entropy)
    if kind == "forecasting":
        return lambda *a: bare_supervised(*a, torch.nn.functional.mse_loss)
    return bare_gan


def tiled(split, times: int):
    """The split with its training part repeated `times` times (more work per epoch)."""
    if times == 1:
        return split
    x = dict(split.x, train=np.concatenate([split.x["train"]] * times))
    y = dict(split.y, train=np.concatenate([split.y["train"]] * times))
    return dataclasses.replace(split, data={p: ArrayDataset(x[p], y[p]) for p in PARTS})


def measure(family: str, repeats: int, device: torch.device, tile: int = 1) -> dict:
    project = Project.current()
    setup_environment(project)
    epochs = EPOCHS.get(family, 10)
    settings = load_family(
        project,
        family,
        overrides=[
            f"train.epochs={epochs}",
            f"train.patience={epochs + 1}",
            "train.progress=false",
        ],
    )
    kind = kind_for(family)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        kind.write_builtin(family, folder)
        split = tiled(kind.load_split(folder, settings), tile)
        bare = bare_loop(family)
        ours_times, bare_times = [], []
        for rep in range(repeats + 1):  # the first round warms up caches and is dropped
            for which in ("ours", "bare") if rep % 2 == 0 else ("bare", "ours"):
                seed_everything(settings.train.seed)
                model = build_model(family, settings.model, split.dims)
                start = time.perf_counter()
                if which == "ours":
                    checkpoints = Checkpointer(Path(tmp) / f"checkpoints-{rep}")
                    kind.fit(model, split, settings, device, Path(tmp), checkpoints)
                    trained = model
                else:
                    bare(model, split, settings, device)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                elapsed = time.perf_counter() - start
                if rep:
                    (ours_times if which == "ours" else bare_times).append(elapsed)
        metric = settings.gate.metric
        card = kind.make_card(settings, split)
        score = kind.score(trained.cpu(), card, split).get(metric, float("nan"))
    ours, bare_median = statistics.median(ours_times), statistics.median(bare_times)
    return {
        "family": family,
        "epochs": epochs,
        "batch_size": settings.train.batch_size,
        "train_examples": len(split.x["train"]),
        "ours_s": ours,
        "bare_s": bare_median,
        "ratio": ours / bare_median,
        "examples_per_s": epochs * len(split.x["train"]) / ours,
        "metric": metric,
        "score": score,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["mlp", "cnn", "rnn", "gan"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads for both loops")
    parser.add_argument("--tile", type=int, default=1, help="repeat the training split N times")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, device {device}, torch {torch.__version__}"
    )
    print(
        "| family | train examples | epochs | batch | ours (s) | bare (s) | ratio ours/bare "
        "| examples/s (ours) | test metric |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for family in args.families:
        r = measure(family, args.repeats, device, args.tile)
        print(
            f"| {r['family']} | {r['train_examples']} | {r['epochs']} | {r['batch_size']} | "
            f"{r['ours_s']:.3f} | {r['bare_s']:.3f} | {r['ratio']:.3f} | "
            f"{r['examples_per_s']:,.0f} | {r['metric']} {r['score']:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
