"""Behavioural tests of the RNN forecaster: shapes, raw-scale I/O, learning, round trip."""

import numpy as np
import pytest
import torch

from components.kinds.card import load_model, save_model
from components.kinds.forecasting.inference import ForecastCard
from components.models import build_model
from components.runtime.device import one_cpu_thread, seed_everything
from components.runtime.trainer import fit
from components.settings import TrainSettings

CPU = torch.device("cpu")
QUIET = {"progress": False}


def rnn(window=8, horizon=3, **cfg):
    return build_model("rnn", {"hidden_size": 8, **cfg}, {"window": window, "horizon": horizon})


def seasonal_windows(n=128, window=8, horizon=3, seed=0):
    """Windows of a noisy sine with a trend, on a raw scale far from zero."""
    g = np.random.default_rng(seed)
    t = np.arange(n + window + horizon)
    series = 300 + 0.05 * t + 3 * np.sin(t * 2 * np.pi / 6) + g.normal(0, 0.1, len(t))
    x = np.stack([series[i : i + window] for i in range(n)])
    y = np.stack([series[i + window : i + window + horizon] for i in range(n)])
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_output_shape(cell):
    model = rnn(window=8, horizon=3, cell=cell)
    assert model(torch.randn(5, 8)).shape == (5, 3)
    assert model(torch.randn(5, 20)).shape == (5, 3)  # longer histories: the last window counts


def test_only_the_last_window_is_read():
    model = rnn().eval()
    x = torch.randn(4, 8)
    longer = torch.cat([torch.randn(4, 5) * 100, x], dim=1)
    with torch.no_grad():
        assert torch.allclose(model(x), model(longer))


def test_normalizer_uses_training_statistics():
    model = rnn()
    values = torch.randn(50, 8) * 10 + 300
    model.fit_normalizer(values)
    assert torch.allclose(model.mean, values.mean().reshape(1))
    assert torch.allclose(model.std, values.std().reshape(1))


def test_loss_falls_on_a_tiny_batch():
    seed_everything(0)
    model = rnn()
    x, y = seasonal_windows(n=32)
    model.fit_normalizer(x)

    def loss_fn(out, target):
        return torch.nn.functional.mse_loss(model.standardise(out), model.standardise(target))

    with torch.no_grad():
        before = loss_fn(model(x), y).item()
    settings = TrainSettings(epochs=60, batch_size=32, learning_rate=0.01, patience=60, **QUIET)
    with one_cpu_thread(CPU):
        result = fit(model, (x, y), (x, y), settings, CPU, loss_fn=loss_fn, classification=False)
    assert result.best_val_loss < before / 4
    assert "train_accuracy" not in result.history[0]


def test_forecast_follows_a_shifted_level():
    """Histories relative to their last value: a level never seen in training still works."""
    model = rnn().eval()
    x, _ = seasonal_windows(n=4)
    model.fit_normalizer(x)
    with torch.no_grad():
        shift = model(x + 50.0) - model(x)
    assert torch.allclose(shift, torch.full_like(shift, 50.0), atol=1e-3)


def test_weights_round_trip_without_pickle(tmp_path):
    model = rnn().eval()
    model.fit_normalizer(seasonal_windows(n=4)[0])
    card = ForecastCard(
        family="rnn",
        kind="forecasting",
        model={"cell": "gru", "hidden_size": 8, "num_layers": 1, "dropout": 0.0},
        dims={"window": 8, "horizon": 3},
        window=8,
        horizon=3,
        season_length=8,
        frequency="W-SAT",
        target="value",
    )
    save_model(model, card, tmp_path / "model")
    loaded, _ = load_model(tmp_path / "model")
    x = torch.randn(2, 8) + 300
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x))
