"""The tabular suite, derived from the declared expectations (config or built-in schema)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.kinds.base import Suite
from components.kinds.profile import numeric_profile, plain, widened
from components.kinds.tabular_classification.data import CSV_NAME, breast_cancer
from components.settings import FamilySettings, TabularExpectations

NUMERIC_TYPES = ["float64", "float32", "int64", "int32", "int16", "int8", "Float64", "Int64"]
# Finite bounds make GX count +/-inf as unexpected (NaN is left to the not-null check).
FINITE = 1e300


def builtin_expectations() -> TabularExpectations:
    """The schema of the built-in table, derived from the data set itself."""
    frame = breast_cancer()
    features = [c for c in frame.columns if c != "target"]
    # All of the data set's measurements are non-negative; the upper bound stays open.
    ranges = {c: (0.0, None) for c in features if frame[c].min() >= 0}
    labels = sorted(frame["target"].unique().tolist())
    return TabularExpectations(features=features, labels=labels, ranges=ranges)


def declared(settings: FamilySettings) -> TabularExpectations:
    """The config's expectations, with the built-in data set's schema filling what it leaves out."""
    own = settings.data.expect
    if settings.data.source_kind != "builtin":
        return own
    base = builtin_expectations()
    return TabularExpectations(
        features=own.features or base.features,
        labels=own.labels or base.labels,
        ranges={**base.ranges, **own.ranges},
    )


def build_expectations(settings: FamilySettings, columns: list[str]) -> list:
    """One expectation per rule: columns, dtypes, nulls, finiteness, ranges, labels, rows."""
    import great_expectations.expectations as gxe

    data, expect = settings.data, declared(settings)
    target = data.target
    features = expect.features or [c for c in columns if c != target]
    rules = [
        gxe.ExpectTableColumnsToMatchSet(column_set=[*features, target], exact_match=True),
        gxe.ExpectTableRowCountToBeBetween(min_value=data.min_rows),
        gxe.ExpectColumnValuesToNotBeNull(column=target),
    ]
    if expect.labels is not None:
        rules.append(gxe.ExpectColumnValuesToBeInSet(column=target, value_set=expect.labels))
    else:
        rules.append(
            gxe.ExpectColumnUniqueValueCountToBeBetween(
                column=target, min_value=2, max_value=data.max_classes
            )
        )
    for column in features:
        low, high = expect.ranges.get(column, (None, None))
        rules += [
            gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=NUMERIC_TYPES),
            gxe.ExpectColumnValuesToNotBeNull(column=column),
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=-FINITE if low is None else low,
                max_value=FINITE if high is None else high,
            ),
        ]
    return rules


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The tabular suite for `folder/data.csv`; never raises on bad data, reports it."""
    import pandas as pd

    path = folder / CSV_NAME
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        return Suite(problem=f"expect_file_to_exist: {CSV_NAME} is missing")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        return Suite(problem=f"expect_file_to_be_readable_csv: {exc}")
    rules = build_expectations(settings, list(frame.columns))
    stats = {"rows": len(frame), "columns": len(frame.columns)}
    missing = []
    if settings.data.target not in frame.columns:
        # Without its target column nothing else can be checked meaningfully; say so first.
        missing = [f"expect_column_to_exist({settings.data.target}): target column is missing"]
    return Suite(tables={"data": (frame, rules)}, stats=stats, failures=missing)


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """Columns, their types, the label set and each numeric column's range and quantiles."""
    import pandas as pd

    frame, target = suite.tables["data"][0], settings.data.target
    features = [c for c in frame.columns if c != target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    return {
        "target": target,
        "columns": features,
        "types": {c: "number" if c in numeric else "text" for c in features},
        "labels": sorted((plain(v) for v in frame[target].dropna().unique()), key=str),
        "ranges": {c: numeric_profile(frame[c]) for c in numeric},
        "rows": len(frame),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """The accepted columns exactly, the accepted labels, values within the accepted range.

    The range is widened by `data.contract_margin` of its width; each rule names its column.
    """
    import great_expectations.expectations as gxe

    frame, rules = suite.tables["data"]
    target = accepted["target"]
    added = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=[*accepted["columns"], target], exact_match=True
        )
    ]
    if target in frame.columns:
        added.append(gxe.ExpectColumnValuesToBeInSet(column=target, value_set=accepted["labels"]))
    for column, seen in accepted["ranges"].items():
        if column in frame.columns and seen["min"] is not None:
            low, high = widened(seen["min"], seen["max"], settings.data.contract_margin)
            added.append(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
            )
    return replace(suite, tables={**suite.tables, "data": (frame, [*rules, *added])})
