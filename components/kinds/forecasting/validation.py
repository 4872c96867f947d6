"""The series suite, derived from the settings: timestamps, regular steps, gaps, values, length.

GX checks two derived tables: the rows as read (with the time column parsed and a column per
problem a row can have) and the regular time grid (one row per step, empty where a timestamp or
its value is missing), whose length and share of gaps are table-level facts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from components.kinds.base import Suite
from components.kinds.forecasting.data import (
    CSV_NAME,
    Grid,
    infer_grid,
    min_length,
    on_grid,
    parse_times,
)
from components.kinds.profile import number, numeric_profile, widened
from components.settings import FamilySettings

# Finite bounds make GX count +/-inf as unexpected (NaN is left to the gap check).
FINITE = 1e300


def rows_frame(frame: pd.DataFrame, time: str, target: str, grid: Grid | None) -> pd.DataFrame:
    """The rows with parsed timestamps and numbers, plus one column per problem (else null)."""
    raw_time, raw_value = frame[time], frame[target]
    times = parse_times(raw_time)
    values = pd.to_numeric(raw_value, errors="coerce")
    off_grid = times.notna() & (~times.isin(grid.times) if grid is not None else False)
    return pd.DataFrame(
        {
            time: times,
            target: values.astype("float64"),
            "unparsed_time": raw_time.astype("string").fillna("<empty>").where(times.isna(), None),
            "unparsed_value": raw_value.astype("string").where(
                values.isna() & raw_value.notna(), None
            ),
            "irregular_timestamp": times.astype("string").where(off_grid, None),
        }
    )


def grid_frame(frame: pd.DataFrame, time: str, target: str, grid: Grid | None) -> pd.DataFrame:
    """One row per step of the regular grid; the value is null where the series has a gap."""
    if grid is None:
        return pd.DataFrame({time: pd.Series([], dtype="datetime64[ns]"), target: []})
    values = on_grid(frame, time, target, grid)
    return pd.DataFrame({time: grid.times, target: values.to_numpy()})


def build_expectations(settings: FamilySettings) -> dict[str, list]:
    """Expectations for the rows and for the regular grid, from the family's settings."""
    import great_expectations.expectations as gxe

    data = settings.data
    time, target = data.time, data.target
    rows = [
        gxe.ExpectTableRowCountToBeBetween(min_value=data.min_rows),
        gxe.ExpectColumnValuesToBeNull(column="unparsed_time"),  # every timestamp parses
        gxe.ExpectColumnValuesToBeIncreasing(column=time),
        gxe.ExpectColumnValuesToBeUnique(column=time),
        gxe.ExpectColumnValuesToBeNull(column="irregular_timestamp"),  # one step throughout
        gxe.ExpectColumnValuesToBeNull(column="unparsed_value"),  # every value is a number
        gxe.ExpectColumnValuesToBeBetween(column=target, min_value=-FINITE, max_value=FINITE),
    ]
    grid = [
        # enough steps for window + horizon in each of train, validation and test
        gxe.ExpectTableRowCountToBeBetween(min_value=min_length(data.series, data.split)),
        # gaps: missing values and missing timestamps, as a share of the grid's steps
        gxe.ExpectColumnValuesToNotBeNull(
            column=target, mostly=round(1 - data.series.max_gap_fraction, 12)
        ),
    ]
    return {"data": rows, "grid": grid}


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The series suite for `folder/series.csv`; never raises on bad data, reports it."""
    data = settings.data
    try:
        frame = pd.read_csv(folder / CSV_NAME)
    except FileNotFoundError:
        return Suite(problem=f"expect_file_to_exist: {CSV_NAME} is missing")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        return Suite(problem=f"expect_file_to_be_readable_csv: {exc}")
    if data.time is None:
        return Suite(problem="expect_column_to_exist: set data.time to the series' time column")
    missing = [c for c in (data.time, data.target) if c not in frame.columns]
    if missing:
        return Suite(
            problem=f"expect_column_to_exist({', '.join(missing)}): the CSV has columns "
            f"{list(frame.columns)[:10]} (set data.time and data.target)"
        )
    grid = infer_grid(parse_times(frame[data.time]))
    rows = rows_frame(frame, data.time, data.target, grid)
    steps = grid_frame(frame, data.time, data.target, grid)
    on_steps = steps[data.time].isin(rows[data.time])
    rules = build_expectations(settings)
    return Suite(
        tables={"data": (rows, rules["data"]), "grid": (steps, rules["grid"])},
        stats={
            "rows": len(frame),
            "steps": len(steps),
            "gaps": int(steps[data.target].isna().sum()),
            "missing_values": int(steps[data.target].isna()[on_steps].sum()),
            "missing_timestamps": int((~on_steps).sum()),
        },
    )


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """The time and value columns, the step between timestamps, the value range and quantiles."""
    rows = suite.tables["data"][0]
    data = settings.data
    times = rows[data.time].dropna()
    grid = infer_grid(times)
    steps = times.sort_values().diff().dropna()
    return {
        "time": data.time,
        "target": data.target,
        "frequency": grid.frequency if grid is not None else None,
        # the typical step, in days: gaps (missing steps) leave it as it is
        "step_days": number(steps.median() / pd.Timedelta(days=1)) if len(steps) else None,
        "values": numeric_profile(rows[data.target]),
        "rows": len(rows),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """The accepted columns and step; values within the accepted range and its margin."""
    import great_expectations.expectations as gxe

    data = settings.data
    rows, rules = suite.tables["data"]
    failures = [
        f"contract({name}): the accepted data's {name} column is {accepted[name]!r}, "
        f"this data's is {now!r}"
        for name, now in (("time", data.time), ("target", data.target))
        if accepted[name] != now
    ]
    step, seen = profile(settings, suite)["step_days"], accepted["step_days"]
    if step is None or seen is None or abs(step - seen) > 0.1 * seen:  # months vary by days
        failures.append(
            f"contract({data.time}): one step every {step} days, the accepted data's every "
            f"{seen} days ({accepted['frequency']})"
        )
    added = []
    if accepted["values"]["min"] is not None:
        low, high = widened(
            accepted["values"]["min"], accepted["values"]["max"], data.contract_margin
        )
        added.append(
            gxe.ExpectColumnValuesToBeBetween(column=data.target, min_value=low, max_value=high)
        )
    return replace(
        suite,
        tables={**suite.tables, "data": (rows, [*rules, *added])},
        failures=[*suite.failures, *failures],
    )
