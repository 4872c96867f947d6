"""Time-series forecasting (the RNN): a CSV of timestamps and values → the next steps."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from components.data.series import CSV_NAME, fill_gaps, make_windows, read_series, write_co2
from components.evaluation.classification import plot_loss_curve
from components.evaluation.forecasting import (
    forecast,
    forecast_metrics,
    plot_forecast,
    seasonal_naive,
)
from components.project import DlopsError
from components.tasks.base import Split, Task
from components.training.trainer import fit_split

CPU = torch.device("cpu")
SPLITS = ("train", "validation", "test")


def windows_digest(starts: dict[str, np.ndarray], frequency: str, first_time: str) -> str:
    """Short hash of which target steps each split holds, anchored at the series' first time."""
    digest = hashlib.sha256(f"{frequency}|{first_time}".encode())
    for name in SPLITS:
        digest.update(name.encode() + starts[name].astype(np.int64).tobytes())
    return digest.hexdigest()[:12]


def check_fits(card: dict, split: Split) -> None:
    """A model can only be scored on data with its horizon, step and enough history."""
    if (
        card.get("horizon") != split.info["horizon"]
        or card.get("frequency") != split.info["frequency"]
    ):
        raise DlopsError("model was trained for another horizon / frequency than the current data")
    if card.get("window", 0) > split.x["test"].shape[1]:
        raise DlopsError("model reads a longer history than the current data's windows hold")


@contextmanager
def one_cpu_thread(device: torch.device):
    """Train small recurrent nets on CPU with one thread, then restore the thread count.

    Their per-step matrix products are far too small to split: extra threads only add
    synchronisation, and on a busy machine they run several times slower than one thread.
    """
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class Forecasting(Task):
    """A history of `window` values → the next `horizon` values of a regular time series."""

    kind = "forecasting"
    sources = ("csv",)
    data_file = CSV_NAME

    def write_builtin(self, family: str, folder: Path) -> None:
        write_co2(folder)

    def validate(self, project, settings, folder):
        from components.validation.series import validate_series

        return validate_series(project, settings, folder)

    def load_split(self, folder: Path, settings) -> Split:
        data = settings.data
        series = fill_gaps(read_series(folder), data.time, data.target)
        try:
            windows = make_windows(series.values, data.series, data.split)
        except ValueError as exc:
            raise DlopsError(f"{settings.family}: {exc}") from None
        return Split(
            x=windows.x,
            y=windows.y,
            dims={"window": data.series.window, "horizon": data.series.horizon},
            info={
                "window": data.series.window,
                "horizon": data.series.horizon,
                "season_length": data.series.season_length,
                "frequency": series.frequency,
                "time": data.time,
                "target": data.target,
            },
            digest=windows_digest(windows.starts, series.frequency, str(series.times[0])),
            params={
                "data.gaps.found": str(series.gaps_found),
                "data.gaps.filled": str(series.gaps_filled),
                "data.gaps.missing_timestamps": str(series.missing_timestamps),
                "data.series.steps": str(len(series.values)),
                "data.series.frequency": series.frequency,
                "data.series.start": str(series.times[0]),
                "data.series.end": str(series.times[-1]),
            },
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        x_train = torch.as_tensor(split.x["train"])
        model.fit_normalizer(x_train[:, -model.window :])

        def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            # MSE on the standardised scale: comparable across series of any magnitude
            return torch.nn.functional.mse_loss(
                model.standardise(output), model.standardise(target)
            )

        with one_cpu_thread(device):
            return fit_split(
                model, split, settings, device, checkpoints, loss_fn=loss_fn, classification=False
            )

    def _forecasts(self, model, split: Split) -> tuple[np.ndarray, np.ndarray]:
        x = split.x["test"]
        info = split.info
        return forecast(model, x, CPU), seasonal_naive(x, info["horizon"], info["season_length"])

    def score(self, model, card: dict, split: Split) -> dict[str, float]:
        check_fits(card, split)
        pred, naive = self._forecasts(model, split)
        metrics = forecast_metrics(split.y["test"], pred, naive)
        return {f"test_{name}": value for name, value in metrics.items()}

    def paired_outcomes(self, model, card: dict, split: Split, metric: str):
        """Per test window: the model's and seasonal naive's mean absolute error.

        sum(model) / sum(naive) over the windows is the test MASE.
        """
        from components.registry.stats import Outcomes

        if metric != "test_mase":
            return None
        check_fits(card, split)
        pred, naive = self._forecasts(model, split)
        actual = split.y["test"]
        return Outcomes(np.abs(pred - actual).mean(axis=1), np.abs(naive - actual).mean(axis=1))

    def plots(self, model, card, split, history, folder: Path) -> list[Path]:
        pred, naive = self._forecasts(model, split)
        return [
            plot_forecast(split.y["test"], pred, naive, folder / "forecast.png"),
            plot_loss_curve(history, card["best_epoch"], folder / "loss_curve.png"),
        ]

    def example(self, split: Split) -> np.ndarray:
        # float64 histories of exactly `window` values: what a caller reading a CSV would send
        return split.x["test"][:5, -split.info["window"] :].astype(np.float64)

    def predict(self, model, card: dict, model_input) -> np.ndarray:
        x = np.asarray(model_input, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] < card["window"]:
            raise DlopsError(f"expected histories of shape (N, >= {card['window']}), got {x.shape}")
        return forecast(model, x, CPU).astype(np.float64)

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        return read_series(folder)
