"""A small supervised trainer: dataset batches, autocast on CUDA, early stopping, best weights.

Also: a learning-rate schedule, and per-epoch checkpoints that a killed run resumes from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from components.runtime.checkpoint import Checkpointer
from components.runtime.datasets import Batches, as_dataset
from components.runtime.device import autocast, seed_everything, share_cores
from components.settings import TrainSettings


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


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights (the best epoch's, kept while training goes on)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _correct(output: torch.Tensor, y: torch.Tensor) -> float:
    return (output.argmax(dim=1) == y).sum().item()


@torch.inference_mode()
def mean_loss(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable,
    device: torch.device,
    classification: bool = True,
) -> tuple[float, float | None]:
    """Mean loss, and accuracy for classifiers (else None), of `model` over `batches` (eval)."""
    model.eval()
    total, correct, count = 0.0, 0.0, 0
    for xb, yb in batches:
        with autocast(device):
            output = model(xb)
        total += loss_fn(output.float(), yb).item() * len(yb)
        count += len(yb)
        if classification:
            correct += _correct(output, yb)
    return total / count, (correct / count if classification else None)


def evaluate_loss(
    model: nn.Module,
    data,
    loss_fn: Callable,
    device: torch.device,
    batch_size: int,
    classification: bool = True,
) -> tuple[float, float | None]:
    """`mean_loss` over a dataset (or an `(x, y)` pair), in order, `batch_size` at a time."""
    batches = Batches(as_dataset(data), batch_size, device)
    return mean_loss(model, batches, loss_fn, device, classification)


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
    train,
    val,
    settings: TrainSettings,
    device: torch.device,
    loss_fn: Callable = nn.functional.cross_entropy,
    classification: bool = True,
    checkpoints: Checkpointer | None = None,
    workers: int = 0,
) -> FitResult:
    """Train with early stopping on validation loss; leave the best epoch's weights in `model`.

    `train` and `val` are datasets of `(x, y)` examples, or `(x, y)` pairs of arrays; datasets
    read from files use `workers` loader processes. History per epoch: train_loss, val_loss,
    and for classifiers train_/val_accuracy. With `checkpoints`, every epoch is saved there and
    a saved state is continued from.
    """
    generator = seed_everything(settings.seed)
    model.to(device)
    train_batches = Batches(as_dataset(train), settings.batch_size, device, generator, workers)
    val_batches = Batches(as_dataset(val), settings.batch_size * 4, device, None, workers)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    schedulers = lr_schedulers([optimizer], settings)
    result = FitResult(best_state=snapshot(model))
    done = resume(checkpoints, model, [optimizer], schedulers, generator, result, device)
    progress = epoch_progress(settings, result, done)
    for epoch in progress:
        share_cores()  # the cores other families at once have freed
        model.train()
        # Sums stay on the device: one sync per epoch, not one per batch.
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for xb, yb in train_batches:
            with autocast(device):
                output = model(xb)
            loss = loss_fn(output.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad_norm)
            optimizer.step()
            loss_sum += loss.detach() * len(yb)
            if classification:
                correct += (output.argmax(dim=1) == yb).sum()
        val_loss, val_acc = mean_loss(model, val_batches, loss_fn, device, classification)
        n_train = len(train_batches)
        row = {"train_loss": loss_sum.item() / n_train, "val_loss": val_loss}
        if classification:
            row |= {"train_accuracy": correct.item() / n_train, "val_accuracy": val_acc}
        result.history.append(row)
        progress.set_postfix(train_loss=f"{row['train_loss']:.4f}", val_loss=f"{val_loss:.4f}")
        stop = result.keep_if_best(epoch, val_loss, model, settings.patience)
        end_epoch(epoch, checkpoints, model, [optimizer], schedulers, generator, result)
        if stop:
            break
    progress.close()
    model.load_state_dict(result.best_state)
    return result
