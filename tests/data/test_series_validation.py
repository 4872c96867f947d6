"""The series suite: corrupted series fail with the failed expectation named; good ones pass."""

import numpy as np
import pandas as pd
import pytest

from components.kinds.forecasting.data import CSV_NAME

# Small windows so a short synthetic series is long enough; overrides as a user would pass them.
SMALL = [
    "data.series.window=8",
    "data.series.horizon=2",
    "data.series.season_length=4",
    "data.series.max_gap_fraction=0.1",
    "data.min_rows=10",
]


def weekly(n: int = 120) -> pd.DataFrame:
    """A clean weekly series: trend plus a 4-week season."""
    times = pd.date_range("2020-01-04", periods=n, freq="W-SAT")
    values = 100 + 0.1 * np.arange(n) + np.sin(np.arange(n) * np.pi / 2)
    return pd.DataFrame({"date": times.strftime("%Y-%m-%d"), "co2": values})


def _corrupt(kind: str) -> pd.DataFrame:
    frame = weekly()
    if kind == "non_monotonic":
        frame.iloc[[10, 11]] = frame.iloc[[11, 10]].to_numpy()
    elif kind == "duplicate":
        frame.loc[10, "date"] = frame.loc[9, "date"]
    elif kind == "irregular":
        frame.loc[20, "date"] = "2020-05-20"  # a Wednesday among Saturdays
    elif kind == "too_many_gaps":
        frame.loc[5:30, "co2"] = np.nan
    elif kind == "missing_timestamps":
        frame = frame.drop(index=range(40, 60))
    elif kind == "infinite":
        frame.loc[7, "co2"] = np.inf
    elif kind == "too_short":
        frame = frame.head(12)
    elif kind == "bad_timestamp":
        frame.loc[3, "date"] = "not a date"
    elif kind == "text_value":
        frame["co2"] = frame["co2"].astype(object)
        frame.loc[4, "co2"] = "n/a ppm"
    elif kind == "missing_column":
        frame = frame.rename(columns={"co2": "value"})
    return frame


CASES = {
    "non_monotonic": "expect_column_values_to_be_increasing(date)",
    "duplicate": "expect_column_values_to_be_unique(date)",
    "irregular": "expect_column_values_to_be_null(irregular_timestamp)",
    "too_many_gaps": "expect_column_values_to_not_be_null(co2)",
    "missing_timestamps": "expect_column_values_to_not_be_null(co2)",
    "infinite": "expect_column_values_to_be_between(co2)",
    "too_short": "expect_table_row_count_to_be_between: observed 12",
    "bad_timestamp": "expect_column_values_to_be_null(unparsed_time)",
    "text_value": "expect_column_values_to_be_null(unparsed_value)",
    "missing_column": "expect_column_to_exist(co2)",
    "empty_file": "expect_file_to_be_readable_csv",
}


def _validate(project, folder, overrides=SMALL):
    from components.config import load_family
    from components.validation.validate import validate_folder

    return validate_folder(project, load_family(project, "rnn", None, overrides), folder)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_corrupted_series_fails_with_the_expectation_named(kind, project, tmp_path):
    if kind == "empty_file":
        (tmp_path / CSV_NAME).write_text("")
    else:
        _corrupt(kind).to_csv(tmp_path / CSV_NAME, index=False)
    report = _validate(project, tmp_path)
    assert not report.success
    assert any(CASES[kind] in failure for failure in report.failures), report.failures


def test_clean_series_passes_with_its_gaps_counted(project, tmp_path):
    frame = weekly()
    frame.loc[[5, 6, 50], "co2"] = np.nan  # 3 missing values
    frame = frame.drop(index=[70, 71])  # 2 missing timestamps
    frame.to_csv(tmp_path / CSV_NAME, index=False)
    report = _validate(project, tmp_path)
    assert report.success, report.failures
    assert report.stats["gaps"] == 5
    assert report.stats["missing_values"] == 3 and report.stats["missing_timestamps"] == 2
    assert report.stats["rows"] == 118 and report.stats["steps"] == 120


def test_builtin_co2_passes_the_default_suite(project, tmp_path):
    from components.kinds import kind_for

    kind_for("rnn").write_builtin("rnn", tmp_path)
    report = _validate(project, tmp_path, overrides=[])
    assert report.success, report.failures
    assert report.stats["rows"] == 2284 and report.stats["gaps"] == 59
