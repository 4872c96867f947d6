"""Behavioural tests of the MLP and its trainer: shapes, learning, determinism, early stopping."""

import pytest
import torch

from components.kinds.card import WEIGHTS, load_model, save_model
from components.kinds.tabular_classification.inference import TabularCard
from components.models import build_model
from components.runtime.device import resolve_device, seed_everything
from components.runtime.trainer import evaluate_loss, fit
from components.settings import TrainSettings

CPU = torch.device("cpu")
QUIET = {"progress": False}


def blobs(n=200, features=4, seed=0):
    """Two linearly separable classes."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, features, generator=g) + 3.0 * y[:, None].float()
    return x, y


def mlp(features=4, classes=2, **cfg):
    return build_model(
        "mlp",
        {"hidden_sizes": [16], "dropout": 0.0, **cfg},
        {"n_features": features, "n_classes": classes},
    )


def test_output_shape():
    assert mlp(features=7, classes=3)(torch.randn(5, 7)).shape == (5, 3)


def test_normalizer_uses_training_statistics():
    model = mlp()
    x = torch.randn(50, 4) * 10 + 5
    model.fit_normalizer(x)
    assert torch.allclose(model.mean, x.mean(0)) and torch.allclose(model.std, x.std(0))


def test_loss_falls_and_separable_data_is_learned():
    x, y = blobs()
    model = mlp()
    model.fit_normalizer(x)
    before, _ = evaluate_loss(model, (x, y), torch.nn.functional.cross_entropy, CPU, 64)
    fit(model, (x, y), blobs(seed=1), TrainSettings(epochs=30, **QUIET), CPU)
    after, accuracy = evaluate_loss(
        model, blobs(seed=2), torch.nn.functional.cross_entropy, CPU, 64
    )
    assert after < before / 2
    assert accuracy > 0.95


def test_same_seed_same_weights():
    def train_once():
        seed_everything(3)
        model = mlp(dropout=0.2)
        fit(model, blobs(), blobs(seed=1), TrainSettings(epochs=5, seed=3, **QUIET), CPU)
        return model.state_dict()

    first, second = train_once(), train_once()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_early_stopping_keeps_best_epoch():
    x, y = blobs(n=40)
    noise_val = (torch.randn(40, 4), torch.randint(0, 2, (40,)))  # unlearnable: val loss rises
    model = mlp()
    result = fit(model, (x, y), noise_val, TrainSettings(epochs=200, patience=3, **QUIET), CPU)
    assert result.stopped_early and len(result.history) < 200
    assert len(result.history) - result.best_epoch == 3
    val_loss, _ = evaluate_loss(model, noise_val, torch.nn.functional.cross_entropy, CPU, 64)
    assert abs(val_loss - result.best_val_loss) < 1e-5


def test_prediction_does_not_depend_on_batch_company():
    model = mlp().eval()
    x = torch.randn(8, 4)
    with torch.no_grad():
        assert torch.allclose(model(x)[:1], model(x[:1]), atol=1e-6)


def test_weights_round_trip_without_pickle(tmp_path):
    model = mlp().eval()
    card = TabularCard(
        family="mlp",
        kind="tabular_classification",
        model={"hidden_sizes": [16], "dropout": 0.0},
        dims={"n_features": 4, "n_classes": 2},
        features=["a", "b", "c", "d"],
        classes=[0, 1],
        class_names=["no", "yes"],
    )
    save_model(model, card, tmp_path)
    assert (tmp_path / WEIGHTS).read_bytes()[8:9] == b"{"  # safetensors: JSON header, no pickle
    loaded, loaded_card = load_model(tmp_path)
    x = torch.randn(3, 4)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded_card == card


def test_auto_device_picks_cuda_then_mps_then_cpu():
    if torch.cuda.is_available():
        expected = "cuda"
    elif torch.backends.mps.is_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


def test_an_absent_device_is_refused():
    absent = [
        name
        for name, here in (
            ("cuda", torch.cuda.is_available()),
            ("mps", torch.backends.mps.is_available()),
        )
        if not here
    ]
    for name in absent:
        with pytest.raises(RuntimeError, match=f"train.device={name}"):
            resolve_device(name)
