"""The translation suite: GX on a per-pair manifest (lengths, ratio, blank, copy, duplicates)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from components.kinds.base import Suite
from components.kinds.profile import numeric_profile, widened
from components.kinds.translation.data import CSV_NAME, DICTIONARY, normalise, read_pairs
from components.kinds.translation.schemas import MAX_CHARS
from components.settings import FamilySettings


def manifest(frame: pd.DataFrame, source: str, target: str) -> pd.DataFrame:
    """One row per pair: both lengths in characters, their ratio, blank sides, copies."""
    sides = {name: frame[column].astype("string").fillna("") for name, column in
             (("source", source), ("target", target))}  # fmt: skip
    chars = {name: text.str.len().astype("int64") for name, text in sides.items()}
    normalised = {name: text.map(normalise) for name, text in sides.items()}
    return pd.DataFrame(
        {
            "source_chars": chars["source"],
            "target_chars": chars["target"],
            "ratio": chars["target"] / chars["source"].clip(lower=1),
            "blank": sides["source"].str.strip().eq("") | sides["target"].str.strip().eq(""),
            "copy": normalised["source"] == normalised["target"],
            "normalised_source": normalised["source"],
        }
    )


def build_expectations(settings: FamilySettings) -> list:
    import great_expectations.expectations as gxe

    data = settings.data
    low, high = data.pairs.length_ratio
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=data.min_rows),
        gxe.ExpectColumnValuesToBeInSet(column="blank", value_set=[False]),
        gxe.ExpectColumnValuesToBeBetween(column="source_chars", min_value=1, max_value=MAX_CHARS),
        gxe.ExpectColumnValuesToBeBetween(column="target_chars", min_value=1, max_value=MAX_CHARS),
        # a pair whose lengths differ this much is a paraphrase or misaligned, not a translation
        gxe.ExpectColumnValuesToBeBetween(column="ratio", min_value=low, max_value=high),
        # a target that repeats its source teaches copying (a few names and numbers may)
        gxe.ExpectColumnValuesToBeInSet(
            column="copy", value_set=[False], mostly=1 - data.pairs.max_copy_share
        ),
        # the same source twice could land in training and test: leakage
        gxe.ExpectColumnValuesToBeUnique(column="normalised_source"),
    ]


def dictionary_rules() -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="source"),
        gxe.ExpectColumnValuesToNotBeNull(column="target"),
        gxe.ExpectColumnValuesToBeUnique(column="source"),
    ]


def _read_dictionary(folder: Path) -> pd.DataFrame | str:
    """The optional dictionary with its empty cells as missing, or what is wrong with it."""
    try:
        table = pd.read_csv(
            folder / DICTIONARY, dtype="string", keep_default_na=False, encoding="utf-8"
        )
    except UnicodeDecodeError as exc:
        return f"expect_file_to_be_utf8({DICTIONARY}): {exc}"
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        return f"expect_file_to_be_readable_csv({DICTIONARY}): {exc}"
    if {"source", "target"} - set(table.columns):
        columns = list(table.columns)[:5]
        return f"expect_column_to_exist({DICTIONARY}: source, target): it has {columns}"
    return table[["source", "target"]].replace("", pd.NA)  # "NA" is a word; "" is missing


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The translation suite for `folder/data.csv` (and `dictionary.csv`); never raises."""
    data = settings.data
    try:
        frame = read_pairs(folder)
    except FileNotFoundError:
        return Suite(problem=f"expect_file_to_exist: {CSV_NAME} is missing")
    except UnicodeDecodeError as exc:
        return Suite(problem=f"expect_file_to_be_utf8: {exc}")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        return Suite(problem=f"expect_file_to_be_readable_csv: {exc}")
    missing = [c for c in (data.text, data.target) if c not in frame.columns]
    if missing:
        return Suite(
            problem=f"expect_column_to_exist({', '.join(missing)}): the table has columns "
            f"{list(frame.columns)[:10]} (set data.text to the source column and data.target "
            "to the target column)"
        )
    tables = {"data": (manifest(frame, data.text, data.target), build_expectations(settings))}
    if (folder / DICTIONARY).is_file():
        dictionary = _read_dictionary(folder)
        if isinstance(dictionary, str):
            return Suite(problem=dictionary)
        tables["dictionary"] = (dictionary, dictionary_rules())
    rows = tables["data"][0]
    return Suite(
        tables=tables,
        stats={"pairs": len(rows), "copies": int(rows["copy"].sum())},
    )


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """Both sides' lengths in characters, their ratio and the source vocabulary's size."""
    rows = suite.tables["data"][0]
    words = {word for text in rows["normalised_source"] for word in text.split()}
    return {
        "source_chars": numeric_profile(rows["source_chars"].astype("float64")),
        "target_chars": numeric_profile(rows["target_chars"].astype("float64")),
        "ratio": numeric_profile(rows["ratio"].astype("float64")),
        "source_vocabulary": len(words),
        "rows": len(rows),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """Both sides' lengths within the accepted ranges and their margin."""
    import great_expectations.expectations as gxe

    rows, rules = suite.tables["data"]
    added = []
    for column in ("source_chars", "target_chars"):
        low, high = widened(accepted[column]["min"], accepted[column]["max"],
                            settings.data.contract_margin)  # fmt: skip
        added.append(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low,
                                                       max_value=high))  # fmt: skip
    return replace(suite, tables={**suite.tables, "data": (rows, [*rules, *added])})
