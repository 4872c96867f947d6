"""A small supervised trainer: in-memory batches, autocast on CUDA, early stopping, best weights.

Also: a learning-rate schedule, and per-epoch checkpoints that a killed run resumes from.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from components.settings import TrainSettings
from components.training.checkpoint import Checkpointer


@dataclass
class FitResult:
    """What training produced: per-epoch history and the best epoch (its weights are loaded)."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = float("inf")  # the selection score: lower is better
    stopped_early: bool = False
    best_state: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    since_best: int = 0

    def keep_if_best(self, epoch: int, score: float, model: nn.Module, patience: int) -> bool:
        """Remember `model`'s weights if `score` is the lowest yet; True once patience runs out."""
        if score < self.best_val_loss:
            self.best_val_loss, self.best_epoch, self.since_best = score, epoch, 0
            self.best_state = snapshot(model)
            return False
        self.since_best += 1
        self.stopped_early = self.since_best >= patience
        return self.stopped_early

    def summary(self) -> dict[str, float]:
        """Best-epoch metrics as their own keys (`best_epoch`, `best_val_loss`, ...)."""
        best = self.history[self.best_epoch - 1] if self.best_epoch else {}
        return {
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.history),
            **{f"best_{k}": v for k, v in best.items() if k.startswith("val_")},
        }


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


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights (the best epoch's, kept while training goes on)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Index batches over `n` rows: shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))


def _correct(output: torch.Tensor, y: torch.Tensor) -> float:
    return (output.argmax(dim=1) == y).sum().item()


@torch.inference_mode()
def evaluate_loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable,
    device: torch.device,
    batch_size: int,
    classification: bool = True,
) -> tuple[float, float | None]:
    """Mean loss, and accuracy for classifiers (else None), of `model` on (x, y) in eval mode."""
    model.eval()
    total, correct = 0.0, 0.0
    for idx in batches(len(x), batch_size, None):
        with autocast(device):
            output = model(x[idx])
        total += loss_fn(output.float(), y[idx]).item() * len(idx)
        if classification:
            correct += _correct(output, y[idx])
    return total / len(x), (correct / len(x) if classification else None)


def epoch_progress(settings: TrainSettings, result: FitResult, done: int = 0):
    """Epochs `done + 1 .. epochs` (none once stopped early), with a progress bar on a terminal.

    tqdm decides when `disable` is None: shown on a terminal only.
    """
    from tqdm.auto import tqdm

    first = settings.epochs + 1 if result.stopped_early else done + 1
    return tqdm(
        range(first, settings.epochs + 1),
        desc="train",
        unit="epoch",
        initial=done,
        total=settings.epochs,
        leave=False,
        disable=None if settings.progress else True,
        mininterval=1.0,
    )


def lr_schedulers(optimizers: list[torch.optim.Optimizer], settings: TrainSettings) -> list:
    """One scheduler per optimizer, stepped once per epoch (none for a constant rate)."""
    if settings.lr_schedule == "constant":
        return []
    return [
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=settings.epochs) for o in optimizers
    ]


def resume(
    checkpoints: Checkpointer | None,
    model: nn.Module,
    optimizers: list[torch.optim.Optimizer],
    schedulers: list,
    generator: torch.Generator,
    result: FitResult,
    device: torch.device,
) -> int:
    """Restore the last checkpoint, if there is one; return the number of epochs already done."""
    if checkpoints is None or not checkpoints.exists():
        return 0
    return checkpoints.restore(model, optimizers, schedulers, generator, result, device)


def end_epoch(
    epoch: int,
    checkpoints: Checkpointer | None,
    model: nn.Module,
    optimizers: list[torch.optim.Optimizer],
    schedulers: list,
    generator: torch.Generator,
    result: FitResult,
) -> None:
    """Step the learning-rate schedule, then checkpoint the epoch."""
    for scheduler in schedulers:
        scheduler.step()
    if checkpoints is not None:
        checkpoints.save(epoch, model, optimizers, schedulers, generator, result)


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    settings: TrainSettings,
    device: torch.device,
    loss_fn: Callable = nn.functional.cross_entropy,
    classification: bool = True,
    checkpoints: Checkpointer | None = None,
) -> FitResult:
    """Train with early stopping on validation loss; leave the best epoch's weights in `model`.

    History per epoch: train_loss, val_loss, and for classifiers train_/val_accuracy. With
    `checkpoints`, every epoch is saved there and a saved state is continued from.
    """
    generator = seed_everything(settings.seed)
    model.to(device)
    x_train, y_train = (t.to(device) for t in train)
    x_val, y_val = (t.to(device) for t in val)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedulers = lr_schedulers([optimizer], settings)
    result = FitResult(best_state=snapshot(model))
    done = resume(checkpoints, model, [optimizer], schedulers, generator, result, device)
    progress = epoch_progress(settings, result, done)
    for epoch in progress:
        model.train()
        # Sums stay on the device: one sync per epoch, not one per batch.
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for idx in batches(len(x_train), settings.batch_size, generator):
            xb, yb = x_train[idx], y_train[idx]
            with autocast(device):
                output = model(xb)
            loss = loss_fn(output.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(idx)
            if classification:
                correct += (output.argmax(dim=1) == yb).sum()
        val_loss, val_acc = evaluate_loss(
            model, x_val, y_val, loss_fn, device, settings.batch_size * 4, classification
        )
        row = {"train_loss": loss_sum.item() / len(x_train), "val_loss": val_loss}
        if classification:
            row |= {"train_accuracy": correct.item() / len(x_train), "val_accuracy": val_acc}
        result.history.append(row)
        progress.set_postfix(train_loss=f"{row['train_loss']:.4f}", val_loss=f"{val_loss:.4f}")
        stop = result.keep_if_best(epoch, val_loss, model, settings.patience)
        end_epoch(epoch, checkpoints, model, [optimizer], schedulers, generator, result)
        if stop:
            break
    progress.close()
    model.load_state_dict(result.best_state)
    return result


def fit_split(model: nn.Module, split, settings, device: torch.device, checkpoints=None, **options):
    """`fit` on a task's `Split`: its train and validation parts, the family's `train:` settings."""
    train, val = (
        (torch.as_tensor(split.x[part]), torch.as_tensor(split.y[part]))
        for part in ("train", "validation")
    )
    return fit(model, train, val, settings.train, device, checkpoints=checkpoints, **options)
