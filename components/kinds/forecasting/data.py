"""Time series: the built-in CO2 file, the regular time grid, gap filling, windows and splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from components.settings import SeriesSettings, SplitSettings

CSV_NAME = "series.csv"
BUILTIN_TIME = "date"
BUILTIN_VALUE = "co2"
# A grid this long means the timestamps are far apart from their typical step: not a series.
MAX_GRID_STEPS = 2_000_000


def mauna_loa_co2() -> pd.DataFrame:
    """Weekly Mauna Loa CO2 (ppm) from statsmodels: 2,284 weeks from 1958, 59 values missing."""
    from statsmodels.datasets import co2

    data = co2.load_pandas().data
    return pd.DataFrame(
        {
            BUILTIN_TIME: data.index.strftime("%Y-%m-%d"),
            BUILTIN_VALUE: data["co2"].to_numpy(dtype=np.float64),
        }
    )


def write_co2(folder: Path) -> Path:
    """Write the built-in series as it ships (missing values stay empty cells)."""
    path = folder / CSV_NAME
    mauna_loa_co2().to_csv(path, index=False, lineterminator="\n")
    return path


def read_series(folder: Path) -> pd.DataFrame:
    """The family's CSV as pandas reads it (validation judges the columns, nothing is coerced)."""
    return pd.read_csv(folder / CSV_NAME)


def parse_times(raw: pd.Series) -> pd.Series:
    """Timestamps of a column; NaT where a cell does not parse."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    text = raw.astype("string")
    try:
        return pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError):  # mixed time zones: compare them in UTC
        return pd.to_datetime(text, errors="coerce", format="mixed", utc=True)


@dataclass(frozen=True)
class Grid:
    """The regular time grid a series' timestamps should lie on: first to last, one step apart."""

    times: pd.DatetimeIndex
    frequency: str  # pandas offset alias of the step, e.g. "W-SAT" or "7D"


def infer_grid(times: pd.Series) -> Grid | None:
    """The regular grid of `times` (parsed, any order); None if there is no usable step.

    The step is pandas' inferred frequency when the timestamps are complete (calendar steps such
    as months work too), else the most common difference between neighbours, so missing
    timestamps become gaps on the grid and off-step timestamps stand out as irregular.
    """
    unique = pd.DatetimeIndex(times.dropna().drop_duplicates().sort_values())
    if len(unique) < 2:
        return None
    diffs = unique.to_series().diff().dropna()
    step = diffs.mode().min()
    if (unique[-1] - unique[0]) / step > MAX_GRID_STEPS:
        return None
    frequency = None
    if len(unique) >= 3:
        try:
            frequency = pd.infer_freq(unique)
        except (TypeError, ValueError):
            frequency = None
    if frequency is None and step % pd.Timedelta(days=1) == pd.Timedelta(0):
        frequency = f"{step.days}D"  # whole days read as days, not as 168 hours
    offset = pd.tseries.frequencies.to_offset(frequency or step)
    grid = pd.date_range(unique[0], unique[-1], freq=offset)
    return Grid(grid, offset.freqstr)


@dataclass(frozen=True)
class FilledSeries:
    """A series on its regular grid with every gap filled, and what was filled."""

    times: pd.DatetimeIndex
    values: np.ndarray  # (T,) float64, no NaN
    frequency: str
    gaps_found: int  # grid steps without a value: missing values + missing timestamps
    gaps_filled: int
    missing_timestamps: int


def on_grid(frame: pd.DataFrame, time: str, target: str, grid: Grid) -> pd.Series:
    """The values reindexed onto the grid: NaN where a timestamp or its value is missing."""
    times = parse_times(frame[time])
    values = pd.to_numeric(frame[target], errors="coerce").astype(np.float64)
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(times)).loc[
        lambda s: s.index.notna()
    ]
    series = series[~series.index.duplicated(keep="first")].sort_index()
    return series.reindex(grid.times)


def fill_gaps(frame: pd.DataFrame, time: str, target: str) -> FilledSeries:
    """Put a (validated) series on its regular grid; interpolate gaps linearly in time.

    Gaps at either end have no neighbour on one side and take the nearest value.
    """
    grid = infer_grid(parse_times(frame[time]))
    if grid is None:
        raise ValueError(f"column {time!r} does not hold a series of regular timestamps")
    series = on_grid(frame, time, target, grid)
    found = int(series.isna().sum())
    filled = series.interpolate(method="time").ffill().bfill()
    missing_timestamps = len(grid.times) - int(grid.times.isin(parse_times(frame[time])).sum())
    return FilledSeries(
        times=grid.times,
        values=filled.to_numpy(dtype=np.float64),
        frequency=grid.frequency,
        gaps_found=found,
        gaps_filled=found - int(filled.isna().sum()),
        missing_timestamps=missing_timestamps,
    )


def segment_bounds(steps: int, window: int, split: SplitSettings) -> tuple[int, int]:
    """Grid indices where validation and test targets start (training targets start at window).

    The forecastable steps after the first window are cut chronologically: train, validation,
    then the last `split.test` share for test.
    """
    forecastable = steps - window
    n_test = round(forecastable * split.test)
    n_val = round(forecastable * split.validation)
    return steps - n_test - n_val, steps - n_test


def min_length(series: SeriesSettings, split: SplitSettings) -> int:
    """Fewest grid steps giving every split at least one window (all its targets inside)."""
    window, horizon = max(series.window, series.season_length), series.horizon
    steps = window + 3 * horizon  # a lower bound; the split's rounding decides the rest
    while True:
        b1, b2 = segment_bounds(steps, window, split)
        if min(b1 - window, b2 - b1, steps - b2) >= horizon:
            return steps
        steps += 1


@dataclass(frozen=True)
class Windows:
    """Histories and their next `horizon` values, per split; `starts` index the first target."""

    x: dict[str, np.ndarray]  # (N, context) float32 histories
    y: dict[str, np.ndarray]  # (N, horizon) float32 targets
    starts: dict[str, np.ndarray]  # (N,) int64 grid index of each window's first target


def make_windows(values: np.ndarray, series: SeriesSettings, split: SplitSettings) -> Windows:
    """Slide a window over the series; assign windows to splits by where their targets fall.

    A window belongs to a split only if all of its `horizon` targets lie in that split's
    segment: windows straddling a boundary are dropped, so no target is shared across splits.
    Histories are `context = max(window, season_length)` long, enough for the seasonal-naive
    baseline; the model reads the last `window` of them.
    """
    context, horizon = max(series.window, series.season_length), series.horizon
    steps = len(values)
    b1, b2 = segment_bounds(steps, context, split)
    segments = {"train": (context, b1), "validation": (b1, b2), "test": (b2, steps)}
    x, y, starts = {}, {}, {}
    for name, (low, high) in segments.items():
        first = np.arange(low, high - horizon + 1, dtype=np.int64)  # first target index
        x[name] = np.stack([values[s - context : s] for s in first]).astype(np.float32)
        y[name] = np.stack([values[s : s + horizon] for s in first]).astype(np.float32)
        starts[name] = first
    return Windows(x, y, starts)
