"""Series preprocessing and forecasting metrics: gap filling, windows without leakage, MASE."""

import numpy as np
import pandas as pd
import pytest

from components.kinds.forecasting.data import (
    fill_gaps,
    infer_grid,
    make_windows,
    mauna_loa_co2,
    min_length,
    parse_times,
    segment_bounds,
)
from components.kinds.forecasting.metrics import forecast_metrics, seasonal_naive
from components.settings import SeriesSettings, SplitSettings

SERIES = SeriesSettings(window=6, horizon=3, season_length=4)
SPLIT = SplitSettings(test=0.2, validation=0.2)


def test_gaps_are_filled_linearly_in_time_and_counted():
    frame = pd.DataFrame(
        {
            # 2024-01-03 (a missing timestamp) and the value of 2024-01-05 are gaps
            "t": ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05", "2024-01-06"],
            "v": [0.0, 1.0, 3.0, np.nan, 5.0],
        }
    )
    series = fill_gaps(frame, "t", "v")
    assert series.frequency == "D"
    assert list(series.times.strftime("%d")) == ["01", "02", "03", "04", "05", "06"]
    np.testing.assert_allclose(series.values, [0, 1, 2, 3, 4, 5])
    assert (series.gaps_found, series.gaps_filled, series.missing_timestamps) == (2, 2, 1)


def test_gaps_at_the_ends_take_the_nearest_value():
    frame = pd.DataFrame(
        {"t": pd.date_range("2024-01-01", periods=4).astype(str), "v": [np.nan, 2.0, 3.0, np.nan]}
    )
    series = fill_gaps(frame, "t", "v")
    np.testing.assert_allclose(series.values, [2, 2, 3, 3])
    assert series.gaps_found == series.gaps_filled == 2


def test_grid_step_is_inferred_despite_missing_timestamps():
    times = parse_times(pd.Series(["2024-01-01", "2024-01-08", "2024-01-22", "2024-01-29"]))
    grid = infer_grid(times)
    assert grid.frequency == "7D" and len(grid.times) == 5
    assert infer_grid(parse_times(pd.Series(["2024-01-01", "nonsense"]))) is None


def test_monthly_calendar_steps_are_regular():
    times = pd.Series(pd.date_range("2020-01-01", periods=24, freq="MS").astype(str))
    grid = infer_grid(parse_times(times))
    assert grid.frequency == "MS" and len(grid.times) == 24


def test_windows_have_the_right_shapes_and_values():
    values = np.arange(60, dtype=np.float64)
    windows = make_windows(values, SERIES, SPLIT)
    for name in ("train", "validation", "test"):
        x, y, starts = windows.x[name], windows.y[name], windows.starts[name]
        assert x.shape == (len(starts), 6) and y.shape == (len(starts), 3)
        # the history ends right before the first target; targets are consecutive
        np.testing.assert_array_equal(x[:, -1] + 1, y[:, 0])
        np.testing.assert_array_equal(y[:, 0], starts)
        np.testing.assert_array_equal(np.diff(y, axis=1), 1)


def test_splits_are_chronological_and_share_no_target():
    values = np.arange(100, dtype=np.float64)
    windows = make_windows(values, SERIES, SPLIT)
    targets = {name: set(windows.y[name].ravel().tolist()) for name in windows.y}
    assert not targets["train"] & targets["validation"]
    assert not targets["validation"] & targets["test"]
    assert max(targets["train"]) < min(targets["validation"])
    assert max(targets["validation"]) < min(targets["test"])
    # no training history reaches into validation or test
    assert windows.x["train"].max() < min(targets["validation"])
    assert max(targets["test"]) == 99  # the test segment runs to the series' end


def test_context_reaches_back_a_season_when_the_window_is_shorter():
    series = SeriesSettings(window=2, horizon=1, season_length=5)
    windows = make_windows(np.arange(50, dtype=np.float64), series, SPLIT)
    assert windows.x["test"].shape[1] == 5


def test_min_length_is_the_shortest_series_with_a_window_in_every_split():
    steps = min_length(SERIES, SPLIT)
    make_windows(np.zeros(steps), SERIES, SPLIT)  # long enough
    b1, b2 = segment_bounds(steps - 1, 6, SPLIT)
    assert min(b1 - 6, b2 - b1, steps - 1 - b2) < SERIES.horizon  # one step less is not


def test_seasonal_naive_repeats_the_last_season():
    x = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    # season 4: y[t+1] = y[t-3] = 3, y[t+2] = 4, ..., and beyond a season it repeats again
    np.testing.assert_array_equal(seasonal_naive(x, 6, 4), [[3, 4, 5, 6, 3, 4]])
    with pytest.raises(ValueError):
        seasonal_naive(x, 1, 7)


def test_mase_is_model_mae_over_seasonal_naive_mae_on_the_same_windows():
    y = np.array([[10.0, 12.0], [14.0, 16.0]])
    pred = np.array([[11.0, 12.0], [14.0, 13.0]])  # errors 1, 0, 0, 3 → MAE 1
    naive = np.array([[8.0, 12.0], [10.0, 16.0]])  # errors 2, 0, 4, 0 → MAE 1.5
    metrics = forecast_metrics(y, pred, naive)
    assert metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse"] == pytest.approx(np.sqrt(10 / 4))
    assert metrics["naive_mae"] == pytest.approx(1.5)
    assert metrics["mase"] == pytest.approx(1 / 1.5)


def test_builtin_co2_is_the_raw_weekly_series_with_its_gaps():
    frame = mauna_loa_co2()
    assert list(frame.columns) == ["date", "co2"]
    assert len(frame) == 2284 and frame["co2"].isna().sum() == 59
    assert frame["date"].iloc[0] == "1958-03-29"
