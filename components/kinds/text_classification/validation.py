"""The text suite: GX on a per-row manifest (text, label, length, blank, normalised text)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from components.kinds.base import Suite
from components.kinds.profile import numeric_profile, widened
from components.kinds.text_classification.data import CSV_NAME, labels_of, normalise, read_csv
from components.kinds.text_classification.schemas import MAX_CHARS
from components.settings import FamilySettings


def manifest(frame: pd.DataFrame, text: str, target: str) -> pd.DataFrame:
    """One row per text: the label, its length in characters, blank or not, normalised."""
    texts = frame[text].astype("string").fillna("")
    return pd.DataFrame(
        {
            "label": labels_of(frame, target),
            "chars": texts.str.len().astype("int64"),
            "blank": texts.str.strip().eq("").astype(bool),
            "normalised": texts.map(normalise),
        }
    )


def build_expectations(settings: FamilySettings) -> list:
    import great_expectations.expectations as gxe

    data = settings.data
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=data.min_rows),
        gxe.ExpectColumnValuesToNotBeNull(column="label"),
        gxe.ExpectColumnUniqueValueCountToBeBetween(
            column="label", min_value=2, max_value=data.max_classes
        ),
        gxe.ExpectColumnValuesToBeInSet(column="blank", value_set=[False]),
        gxe.ExpectColumnValuesToBeBetween(column="chars", min_value=1, max_value=MAX_CHARS),
        # the same text twice could land in training and test: leakage
        gxe.ExpectColumnValuesToBeUnique(column="normalised"),
    ]


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The text suite for `folder/data.csv`; never raises on bad data, reports it."""
    data = settings.data
    try:
        frame = read_csv(folder)
    except FileNotFoundError:
        return Suite(problem=f"expect_file_to_exist: {CSV_NAME} is missing")
    except UnicodeDecodeError as exc:
        return Suite(problem=f"expect_file_to_be_utf8: {exc}")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        return Suite(problem=f"expect_file_to_be_readable_csv: {exc}")
    missing = [c for c in (data.text, data.target) if c not in frame.columns]
    if missing:
        return Suite(
            problem=f"expect_column_to_exist({', '.join(missing)}): the CSV has columns "
            f"{list(frame.columns)[:10]} (set data.text and data.target)"
        )
    rows = manifest(frame, data.text, data.target)
    return Suite(
        tables={"data": (rows, build_expectations(settings))},
        stats={"rows": len(rows), "labels": int(rows["label"].nunique())},
    )


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """The label set, the vocabulary size (distinct words) and the length in characters."""
    rows = suite.tables["data"][0]
    words = {word for text in rows["normalised"] for word in text.split()}
    return {
        "labels": sorted(str(v) for v in rows["label"].dropna().unique()),
        "vocabulary": len(words),
        "chars": numeric_profile(rows["chars"].astype("float64")),
        "rows": len(rows),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """The accepted labels; lengths within the accepted range and its margin."""
    import great_expectations.expectations as gxe

    rows, rules = suite.tables["data"]
    low, high = widened(accepted["chars"]["min"], accepted["chars"]["max"],
                        settings.data.contract_margin)  # fmt: skip
    added = [
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=accepted["labels"]),
        gxe.ExpectColumnValuesToBeBetween(column="chars", min_value=low, max_value=high),
    ]
    return replace(suite, tables={**suite.tables, "data": (rows, [*rules, *added])})
