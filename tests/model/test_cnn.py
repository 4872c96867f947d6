"""Behavioural tests of the CNN: shapes, learning, shift invariance, weights without pickle."""

import numpy as np
import pytest
import torch

from components.kinds.card import load_model, save_model
from components.kinds.image_classification.inference import ImageCard
from components.models import build_model
from components.runtime.device import seed_everything
from components.runtime.trainer import evaluate_loss, fit
from components.settings import SplitSettings, TrainSettings

CPU = torch.device("cpu")
CONFIG = {"channels": [8, 16], "kernel_size": 3, "dropout": 0.0, "shift": 1}


def cnn(n_channels=1, size=8, classes=10, **cfg):
    dims = {"n_channels": n_channels, "image_size": size, "n_classes": classes}
    return build_model("cnn", {**CONFIG, **cfg}, dims)


@pytest.mark.parametrize(("channels", "size"), [(1, 8), (3, 32), (1, 4), (3, 5)])
def test_output_shape(channels, size):
    model = cnn(channels, size, classes=3).eval()
    assert model(torch.rand(2, channels, size, size)).shape == (2, 3)


def test_deeper_than_the_image_is_wide():
    # three 2x2 pools on a 4x4 image: ceil-mode pooling keeps a 1x1 map instead of failing
    assert cnn(1, 4, classes=2, channels=[4, 4, 4]).eval()(torch.rand(1, 1, 4, 4)).shape == (1, 2)


def test_random_shift_only_while_training():
    model = cnn()
    x = torch.rand(16, 1, 8, 8)
    assert torch.equal(model.shift.eval()(x), x)
    seed_everything(0)
    shifted = model.shift.train()(x)
    assert shifted.shape == x.shape and not torch.equal(shifted, x)
    # each image is its own, moved by at most one pixel: the centre 6x6 survives somewhere
    for image, moved in zip(x, shifted, strict=True):
        assert any(
            torch.equal(image[:, 1:7, 1:7], moved[:, 1 + dy : 7 + dy, 1 + dx : 7 + dx])
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )


def test_loss_falls_on_a_tiny_batch():
    seed_everything(0)
    x, y = torch.rand(16, 1, 8, 8), torch.arange(16) % 4
    model = cnn(classes=4, shift=0)
    before, _ = evaluate_loss(model, (x, y), torch.nn.functional.cross_entropy, CPU, 16)
    settings = TrainSettings(epochs=40, batch_size=16, learning_rate=0.01, progress=False)
    fit(model, (x, y), (x, y), settings, CPU)
    after, accuracy = evaluate_loss(model, (x, y), torch.nn.functional.cross_entropy, CPU, 16)
    assert after < before / 4
    assert accuracy == 1.0


@pytest.fixture(scope="module")
def digits_model():
    """The default CNN trained for a few epochs on the digits, and the test split."""
    from sklearn.datasets import load_digits

    from components.runtime.splits import split_indices

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    parts = split_indices(y, SplitSettings())
    seed_everything(0)
    model = cnn(channels=[16, 32])
    settings = TrainSettings(epochs=8, batch_size=32, learning_rate=0.01, progress=False)
    as_tensors = {k: (torch.as_tensor(x[v]), torch.as_tensor(y[v])) for k, v in parts.items()}
    fit(model, as_tensors["train"], as_tensors["validation"], settings, CPU)
    return model.eval(), *as_tensors["test"]


def test_learns_the_digits(digits_model):
    model, x, y = digits_model
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() > 0.9


@pytest.mark.parametrize(("dy", "dx"), [(0, 1), (0, -1), (1, 0), (-1, 0)])
def test_one_pixel_shift_rarely_changes_the_answer(digits_model, dy, dx):
    model, x, _ = digits_model
    shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    # zero the row/column that wrapped around: a shift, not a rotation
    if dy:
        shifted[:, :, 0 if dy > 0 else -1] = 0
    if dx:
        shifted[:, :, :, 0 if dx > 0 else -1] = 0
    with torch.no_grad():
        agreement = (model(x).argmax(1) == model(shifted).argmax(1)).float().mean()
    assert agreement >= 0.9


def test_prediction_does_not_depend_on_batch_company(digits_model):
    model, x, _ = digits_model
    with torch.no_grad():
        assert torch.allclose(model(x[:8])[:1], model(x[:1]), atol=1e-5)


def test_weights_round_trip_without_pickle(tmp_path, digits_model):
    model, x, _ = digits_model
    card = ImageCard(
        family="cnn",
        kind="image_classification",
        model={**CONFIG, "channels": [16, 32]},
        dims={"n_channels": 1, "image_size": 8, "n_classes": 10},
        classes=[str(d) for d in range(10)],
        image_size=8,
        mode="L",
    )
    save_model(model, card, tmp_path)
    loaded, _ = load_model(tmp_path)
    with torch.no_grad():
        assert torch.equal(model(x[:4]), loaded(x[:4]))  # BatchNorm statistics travel too


@pytest.mark.parametrize("workers", [0, 1])
def test_streamed_from_files_trains_exactly_as_in_memory(tmp_path, workers):
    """A folder read batch by batch (DataLoader, `workers` processes) gives the same model."""
    from components.kinds import kind_for
    from components.kinds.image_classification.data import ImageFiles, write_digits
    from components.runtime.datasets import ArrayDataset
    from components.settings import FamilySettings

    folder = tmp_path / "digits"
    write_digits(folder)
    for extra in sorted(folder.rglob("*.png"))[300:]:  # a few hundred images are enough
        extra.unlink()
    kind, trained = kind_for("cnn"), []
    for in_memory_mb in (0, 100):
        settings = FamilySettings(
            family="cnn",
            data={"target": "class", "in_memory_mb": in_memory_mb, "workers": workers},
            model=CONFIG,
            train={"epochs": 3, "batch_size": 32, "progress": False},
        )
        split = kind.load_split(folder, settings)
        streamed = isinstance(split.data["train"], ImageFiles)
        assert streamed == (in_memory_mb == 0)
        assert streamed or isinstance(split.data["train"], ArrayDataset)
        seed_everything(0)
        model = build_model("cnn", settings.model, split.dims)
        result = kind.fit(model, split, settings, CPU, tmp_path)
        card = kind.make_card(settings, split, best_epoch=result.best_epoch)
        trained.append((result.history, model.state_dict(), kind.score(model, card, split)))
    (history, weights, scores), (history_again, weights_again, scores_again) = trained
    assert history == history_again and scores == scores_again
    assert all(torch.equal(weights[k], weights_again[k]) for k in weights)
