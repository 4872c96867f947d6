"""Forecasting metrics (MAE, RMSE, MASE against seasonal naive) and the forecast plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.runtime.plots import pyplot, save


def seasonal_naive(x: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """Seasonal-naive forecasts (N, H) from histories (N, T): y[t+h] = y[t+h-k*season_length].

    k is the smallest number of whole seasons that reaches back into the history (k = 1 while
    h <= season_length), so T must be at least season_length.
    """
    steps = x.shape[1]
    if steps < season_length:
        raise ValueError(f"histories of {steps} steps cannot reach back {season_length} steps")
    h = np.arange(1, horizon + 1)
    back = season_length * np.ceil(h / season_length).astype(int)
    return x[:, steps - 1 + h - back]


def forecast_metrics(y: np.ndarray, pred: np.ndarray, naive: np.ndarray) -> dict[str, float]:
    """MAE and RMSE of `pred`, the baseline's MAE, and MASE = MAE / baseline MAE (same windows)."""
    errors = np.asarray(pred, dtype=np.float64) - y
    mae = float(np.abs(errors).mean())
    naive_mae = float(np.abs(np.asarray(naive, dtype=np.float64) - y).mean())
    # A baseline without error is matched only by a perfect forecast.
    perfect = 0.0 if mae == 0 else float("inf")
    mase = mae / naive_mae if naive_mae > 0 else perfect
    return {
        "mae": mae,
        "rmse": float(np.sqrt((errors**2).mean())),
        "mase": mase,
        "naive_mae": naive_mae,
    }


def plot_forecast(y: np.ndarray, pred: np.ndarray, naive: np.ndarray, path: Path) -> Path:
    """Write the test segment's actual values against 1-step and H-step forecasts to `path`.

    Windows are consecutive, so each window's h-step forecast lands h-1 steps after its first
    target: one line per lead time, aligned on the actual series.
    """
    plt = pyplot()

    n, horizon = y.shape
    actual = np.concatenate([y[:, 0], y[-1, 1:]])
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(np.arange(len(actual)), actual, color="black", linewidth=1.2, label="actual")
    ax.plot(np.arange(n), pred[:, 0], label="forecast, 1 step ahead")
    if horizon > 1:
        ax.plot(
            np.arange(horizon - 1, horizon - 1 + n),
            pred[:, -1],
            label=f"forecast, {horizon} steps ahead",
            alpha=0.8,
        )
    ax.plot(np.arange(n), naive[:, 0], linestyle=":", color="grey", label="seasonal naive, 1 step")
    ax.set_xlabel("step into the test segment")
    ax.set_ylabel("value")
    ax.set_title("Forecast vs actual (test segment)")
    ax.legend(fontsize="small")
    return save(fig, path)
