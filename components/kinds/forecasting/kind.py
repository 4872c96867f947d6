"""The forecasting kind: a history of `window` values → the next `horizon` values of a series."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds.base import PARTS, Kind, Split, sample_rows
from components.kinds.forecasting import data, inference, validation
from components.kinds.forecasting import fit as training
from components.kinds.forecasting.metrics import forecast_metrics, plot_forecast, seasonal_naive
from components.project import DlopsError
from components.runtime.datasets import ArrayDataset
from components.runtime.plots import plot_loss_curve


def windows_digest(starts: dict[str, np.ndarray], frequency: str, first_time: str) -> str:
    """Short hash of which target steps each split holds, anchored at the series' first time."""
    digest = hashlib.sha256(f"{frequency}|{first_time}".encode())
    for name in PARTS:
        digest.update(name.encode() + starts[name].astype(np.int64).tobytes())
    return digest.hexdigest()[:12]


def check_fits(card: inference.ForecastCard, split: Split) -> None:
    """A model can only be scored on data with its horizon, step and enough history."""
    if card.horizon != split.info["horizon"] or card.frequency != split.info["frequency"]:
        raise DlopsError("model was trained for another horizon / frequency than the current data")
    if card.window > split.x["test"].shape[1]:
        raise DlopsError("model reads a longer history than the current data's windows hold")


class Forecasting(Kind):
    """A history of `window` values → the next `horizon` values of a regular time series."""

    name = inference.KIND
    sources = ("csv",)
    data_file = data.CSV_NAME
    card = inference.ForecastCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_co2(folder)

    def load_split(self, folder: Path, settings) -> Split:
        config = settings.data
        series = data.fill_gaps(data.read_series(folder), config.time, config.target)
        try:
            windows = data.make_windows(series.values, config.series, config.split)
        except ValueError as exc:
            raise DlopsError(f"{settings.family}: {exc}") from None
        return Split(
            data={part: ArrayDataset(windows.x[part], windows.y[part]) for part in PARTS},
            dims={"window": config.series.window, "horizon": config.series.horizon},
            info={
                "window": config.series.window,
                "horizon": config.series.horizon,
                "season_length": config.series.season_length,
                "frequency": series.frequency,
                "time": config.time,
                "target": config.target,
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
        return training.fit(model, split, settings, device, checkpoints)

    def _forecasts(self, model, split: Split) -> tuple[np.ndarray, np.ndarray]:
        x = split.x["test"]
        info = split.info
        return inference.forecast(model, x), seasonal_naive(
            x, info["horizon"], info["season_length"]
        )

    def score(self, model, card: inference.ForecastCard, split: Split) -> dict[str, float]:
        check_fits(card, split)
        pred, naive = self._forecasts(model, split)
        metrics = forecast_metrics(split.y["test"], pred, naive)
        return {f"test_{name}": value for name, value in metrics.items()}

    def paired_outcomes(self, model, card: inference.ForecastCard, split: Split, metric: str):
        """Per test window: the model's and seasonal naive's mean absolute error.

        sum(model) / sum(naive) over the windows is the test MASE.
        """
        from components.runtime.stats import Outcomes

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
            plot_loss_curve(history, card.best_epoch, folder / "loss_curve.png"),
        ]

    def example(self, split: Split) -> np.ndarray:
        # float64 histories of exactly `window` values: what a caller reading a CSV would send
        return split.x["test"][:5, -split.info["window"] :].astype(np.float64)

    def predict(self, model, card, model_input) -> np.ndarray:
        return inference.predict_array(model, card, model_input)

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        return data.read_series(folder)

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        x = split.x["train"]
        return inference.logged(card, x[sample_rows(len(x), limit)])

    def drift_features(self, model, card, frame: pd.DataFrame) -> pd.DataFrame:
        """Per history: its level, its seasonal amplitude (max - min) and its trend per step."""
        x = np.stack([np.asarray(h, dtype=np.float64) for h in frame["history"]])
        steps = np.arange(x.shape[1]) - (x.shape[1] - 1) / 2
        return pd.DataFrame(
            {
                "level": x.mean(axis=1),
                "seasonal_amplitude": x.max(axis=1) - x.min(axis=1),
                "trend": (x - x.mean(axis=1, keepdims=True)) @ steps / (steps @ steps),
            }
        )
