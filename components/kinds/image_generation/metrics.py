"""Image-generation metrics and plots: feature classifier, Fréchet distance, entropy, grids.

The Fréchet distance here is computed on the penultimate-layer features of a small CNN that
this project trains on the training split (seeded, on the CPU, same weights every time). It is
NOT the Inception FID of the literature: its values compare models on the same data and split
only, not with published numbers.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from components.models.gan import generate
from components.runtime.distances import frechet_distance
from components.runtime.plots import pyplot, save

CPU = torch.device("cpu")
EVAL_SAMPLES = 1000  # generated images per Fréchet distance: fixed, so scores compare
EVAL_SEED = 1234  # noise of the scored samples: fixed, so a model's score never changes
CLASSIFIER_SEED = 0
CLASSIFIER_EPOCHS = 15
CLASSIFIER_BATCH = 64

_CLASSIFIERS: dict[str, FeatureClassifier] = {}  # per process, keyed by training data


class FeatureClassifier(nn.Module):
    """Two convolutions and a 64-wide penultimate layer whose activations are the features."""

    def __init__(self, channels: int, image_size: int, n_classes: int, width: int = 16):
        super().__init__()
        pooled = min(image_size // 2, 4)
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(pooled),
            nn.Flatten(),
            nn.Linear(2 * width * pooled**2, 64),
            nn.ReLU(),
        )
        self.head = nn.Linear(64, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W) in [0, 1] → (B, 64)
        return self.body(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _train_classifier(x: np.ndarray, y: np.ndarray, n_classes: int) -> FeatureClassifier:
    """Fit the classifier on the CPU with its own seed, leaving the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(CLASSIFIER_SEED)
        order_rng = torch.Generator().manual_seed(CLASSIFIER_SEED)
        model = FeatureClassifier(x.shape[1], x.shape[2], n_classes)
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
        inputs, targets = torch.as_tensor(x), torch.as_tensor(y)
        model.train()
        for _ in range(CLASSIFIER_EPOCHS):
            for idx in torch.randperm(len(inputs), generator=order_rng).split(CLASSIFIER_BATCH):
                loss = nn.functional.cross_entropy(model(inputs[idx]), targets[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return model.eval()


def feature_classifier(split) -> FeatureClassifier:
    """The split's feature classifier, trained once per process on its training images."""
    x, y = split.x["train"], split.y["train"]
    key = hashlib.sha256(
        split.digest.encode() + str(x.shape).encode() + x.tobytes() + y.tobytes()
    ).hexdigest()
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = _train_classifier(x, y, len(split.info["classes"]))
    return _CLASSIFIERS[key]


@torch.no_grad()
def classify(classifier: FeatureClassifier, images: np.ndarray | torch.Tensor, batch: int = 1024):
    """Penultimate features (N, 64) as float64 and predicted classes (N,) of `images`."""
    inputs = torch.as_tensor(images, dtype=torch.float32)
    feats, preds = [], []
    for i in range(0, len(inputs), batch):
        f = classifier.features(inputs[i : i + batch])
        feats.append(f)
        preds.append(classifier.head(f).argmax(dim=1))
    return torch.cat(feats).double().numpy(), torch.cat(preds).numpy()


def class_entropy(predicted: np.ndarray, n_classes: int) -> float:
    """Entropy (nats) of the predicted-class histogram.

    ln(n_classes) when every class is equally frequent, 0 when all samples look like one class
    (mode collapse).
    """
    counts = np.bincount(predicted, minlength=n_classes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: no "-0.0" for a single class


def sample_labels(reference_labels: np.ndarray, n: int = EVAL_SAMPLES) -> torch.Tensor:
    """Classes to generate: the reference's own labels, repeated to `n` (same class mix)."""
    return torch.as_tensor(np.resize(reference_labels, n), dtype=torch.int64)


def features(model, split, part: str, seed: int = EVAL_SEED, n: int = EVAL_SAMPLES):
    """Classifier features of `n` generated images and of split `part`'s real images.

    The noise comes from `seed` and the classes from `part`'s labels, so two models generate
    from the same inputs: their samples are paired. Returns (fake, real, predicted, labels).
    """
    classifier = feature_classifier(split)
    real, _ = classify(classifier, split.x[part])
    labels = sample_labels(split.y[part], n)
    images, _ = generate(model, n, seed, labels if model.conditional else None)
    fake, predicted = classify(classifier, images)
    return fake, real, predicted, labels.numpy()


def generation_metrics(
    model, split, part: str, seed: int = EVAL_SEED, n: int = EVAL_SAMPLES
) -> dict[str, float]:
    """Fréchet distance, class entropy and conditioning accuracy of generated images.

    `n` images (fixed noise from `seed`, the classes of split `part`'s labels) are compared with
    the real images of `part`; conditioning accuracy (conditional models only) is the share the
    classifier assigns to the class they were generated for.
    """
    fake, real, predicted, labels = features(model, split, part, seed, n)
    metrics = {
        "frechet_distance": frechet_distance(fake, real),
        "class_entropy": class_entropy(predicted, len(split.info["classes"])),
    }
    if model.conditional:
        metrics["conditioning_accuracy"] = float((predicted == labels).mean())
    return metrics


def reference_metrics(split) -> dict[str, float]:
    """Sanity numbers of the real data alone.

    The classifier's accuracy on the test images, and the Fréchet distance between the real
    validation and test images: the floor a perfect generator would come near.
    """
    classifier = feature_classifier(split)
    test, predicted = classify(classifier, split.x["test"])
    validation, _ = classify(classifier, split.x["validation"])
    return {
        "classifier_accuracy": float((predicted == split.y["test"]).mean()),
        "frechet_distance_real": frechet_distance(validation, test),
    }


def max_entropy(n_classes: int) -> float:
    """The largest class entropy possible with `n_classes` classes."""
    return math.log(n_classes)


def grid_images(model, n_classes: int, columns: int = 10, seed: int = EVAL_SEED) -> np.ndarray:
    """One row per class (at most 20 rows), `columns` samples each, fixed noise: (R*K, C, H, W).

    An unconditional model gets random classes; its rows are then just more samples.
    """
    rows = min(n_classes, 20)
    labels = torch.arange(rows).repeat_interleave(columns)
    images, _ = generate(model, len(labels), seed, labels if model.conditional else None)
    return images.numpy()


def save_grid(images: np.ndarray, columns: int, path: Path, scale: int = 4) -> Path:
    """Tile (N, C, H, W) images in [0, 1] into one PNG, `columns` wide, enlarged `scale` times."""
    from PIL import Image

    n, c, h, w = images.shape
    rows = math.ceil(n / columns)
    pad = 1
    canvas = np.ones((rows * (h + pad) + pad, columns * (w + pad) + pad, c), dtype=np.float32)
    for i, image in enumerate(images):
        r, k = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        canvas[top : top + h, left : left + w] = image.transpose(1, 2, 0)
    pixels = np.rint(np.clip(canvas, 0, 1) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels[..., 0] if c == 1 else pixels, mode="L" if c == 1 else "RGB")
    picture = picture.resize(
        (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    return path


def plot_sample_grid(model, classes: list, path: Path, columns: int = 10) -> Path:
    """Final samples as a figure: one row per class, labelled (unconditional: unlabelled)."""
    plt = pyplot()

    images = grid_images(model, len(classes), columns)
    rows = len(images) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.6, rows * 0.6 + 0.5))
    axes = np.atleast_2d(axes)
    for i, ax in enumerate(axes.flat):
        image = images[i].transpose(1, 2, 0)
        ax.imshow(image[..., 0] if image.shape[2] == 1 else image, cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if i % columns == 0 and model.conditional:
            ax.set_ylabel(str(classes[i // columns]), rotation=0, labelpad=10, va="center")
    fig.suptitle("Generated samples" + (", one row per class" if model.conditional else ""))
    return save(fig, path)


def plot_gan_curves(history: list[dict[str, float]], best_epoch: int, path: Path) -> Path:
    """Discriminator/generator losses and the validation Fréchet distance per epoch."""
    plt = pyplot()

    epochs = range(1, len(history) + 1)
    fig, (losses, fd) = plt.subplots(1, 2, figsize=(10, 4))
    losses.plot(epochs, [h["d_loss"] for h in history], label="discriminator")
    losses.plot(epochs, [h["g_loss"] for h in history], label="generator")
    losses.set_xlabel("epoch")
    losses.set_ylabel("loss")
    losses.legend()
    fd.plot(epochs, [h["val_fd"] for h in history], color="tab:green")
    fd.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch {best_epoch}")
    fd.set_xlabel("epoch")
    fd.set_ylabel("Fréchet distance (validation)")
    fd.set_yscale("log")
    fd.legend()
    return save(fig, path)
