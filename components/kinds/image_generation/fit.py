"""The adversarial trainer: in-memory batches, seeded, bf16 autocast on CUDA, best epoch kept.

Stabilisers: spectral norm lives in the discriminator (`components/models/gan.py`); here are
one-sided label smoothing (real targets `real_label` < 1), two-timescale learning rates (the
discriminator learns `d_lr_factor` times faster than the generator) and the generator's weight
average after every step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from components.models.gan import GAN, GANConfig
from components.runtime.checkpoint import Checkpointer
from components.runtime.datasets import batches
from components.runtime.device import autocast, seed_everything, share_cores
from components.runtime.trainer import (
    FitResult,
    end_epoch,
    epoch_progress,
    lr_schedulers,
    resume,
    snapshot,
)
from components.settings import TrainSettings


def optimizers(model: GAN, config: GANConfig, learning_rate: float):
    """Adam for each network; the discriminator's rate is `d_lr_factor` times the generator's."""
    betas = (config.beta1, 0.999)
    g_opt = torch.optim.Adam(model.generator.parameters(), lr=learning_rate, betas=betas)
    d_opt = torch.optim.Adam(
        model.discriminator.parameters(), lr=learning_rate * config.d_lr_factor, betas=betas
    )
    return g_opt, d_opt


def discriminator_step(
    model: GAN, real: torch.Tensor, labels: torch.Tensor, z: torch.Tensor, real_label: float, opt
) -> torch.Tensor:
    """One discriminator update on real images (smoothed targets) and detached fakes."""
    with torch.no_grad(), autocast(real.device):
        fake = model.generator(z, labels)
    with autocast(real.device):
        real_logits = model.discriminator(real, labels)
        fake_logits = model.discriminator(fake, labels)
    loss = bce(real_logits.float(), torch.full_like(real_logits.float(), real_label)) + bce(
        fake_logits.float(), torch.zeros_like(fake_logits.float())
    )
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def generator_step(model: GAN, labels: torch.Tensor, z: torch.Tensor, opt) -> torch.Tensor:
    """One generator update with the non-saturating loss: make fakes look real."""
    with autocast(z.device):
        logits = model.discriminator(model.generator(z, labels), labels)
    loss = bce(logits.float(), torch.ones_like(logits.float()))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def fit_gan(
    model: GAN,
    train: tuple[torch.Tensor, torch.Tensor],
    config: GANConfig,
    settings: TrainSettings,
    device: torch.device,
    val_fd: Callable[[nn.Module], float],
    on_sample: Callable[[nn.Module, int], None] | None = None,
    checkpoints: Checkpointer | None = None,
) -> FitResult:
    """Train both networks; keep the weights of the epoch with the lowest validation FD.

    `train` holds images (N, C, H, W) in [0, 1] and class indices; `val_fd(model)` scores the
    generator each epoch; `on_sample(model, epoch)` runs every `config.sample_every` epochs and
    after the last. Stops after `settings.patience` epochs without a better `val_fd`.
    History per epoch: d_loss, g_loss, val_fd. With `checkpoints`, every epoch is saved there
    and a saved state is continued from.
    """
    generator = seed_everything(settings.seed)
    model.to(device)
    images, labels = train[0].to(device) * 2 - 1, train[1].to(device)  # tanh range
    g_opt, d_opt = optimizers(model, config, settings.learning_rate)
    schedulers = lr_schedulers([g_opt, d_opt], settings)
    result = FitResult(best_state=snapshot(model))
    done = resume(checkpoints, model, [g_opt, d_opt], schedulers, generator, result, device)
    progress = epoch_progress(settings, result, done)
    for epoch in progress:
        share_cores()  # the cores other families at once have freed
        model.train()
        d_sum = torch.zeros((), device=device)
        g_sum = torch.zeros((), device=device)
        steps = batches(len(images), settings.batch_size, generator)
        for idx in steps:
            real, y = images[idx], labels[idx]
            z = torch.randn(len(idx), model.latent_dim, generator=generator).to(device)
            d_sum += discriminator_step(model, real, y, z, config.real_label, d_opt)
            z = torch.randn(len(idx), model.latent_dim, generator=generator).to(device)
            g_sum += generator_step(model, y, z, g_opt)
            model.update_average()
        row = {
            "d_loss": d_sum.item() / len(steps),
            "g_loss": g_sum.item() / len(steps),
            "val_fd": val_fd(model),
        }
        result.history.append(row)
        progress.set_postfix(val_fd=f"{row['val_fd']:.3f}", d_loss=f"{row['d_loss']:.3f}")
        if on_sample is not None and (epoch % config.sample_every == 0 or epoch == settings.epochs):
            on_sample(model, epoch)
        stop = result.keep_if_best(epoch, row["val_fd"], model, settings.patience)
        end_epoch(epoch, checkpoints, model, [g_opt, d_opt], schedulers, generator, result)
        if stop:
            break
    progress.close()
    model.load_state_dict(result.best_state)
    return result


def fit_generator(
    model: GAN, split, settings, device, workdir, checkpoints: Checkpointer | None = None
) -> FitResult:
    """Train the GAN on the split's training images; sample grids go into `workdir/samples`.

    The best epoch is the one with the lowest validation Fréchet distance (`metrics.py`).
    """
    from components.kinds.image_generation.metrics import (
        feature_classifier,
        generation_metrics,
        grid_images,
        save_grid,
    )

    config = GANConfig.model_validate(settings.model)
    feature_classifier(split)  # trained (and cached) before training starts
    samples = workdir / "samples"
    n_classes = split.dims["n_classes"]

    def val_fd(gan) -> float:
        return generation_metrics(gan, split, "validation")["frechet_distance"]

    def on_sample(gan, epoch: int) -> None:
        save_grid(grid_images(gan, n_classes), 10, samples / f"{epoch:04d}.png")

    train = (torch.as_tensor(split.x["train"]), torch.as_tensor(split.y["train"]))
    result = fit_gan(model, train, config, settings.train, device, val_fd, on_sample, checkpoints)
    save_grid(grid_images(model, n_classes), 10, samples / "best.png")
    return result
