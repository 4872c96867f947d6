"""The speech suite: Great Expectations on a per-file manifest.

Decodable, size, duration, clipping, silence, blank transcripts, characters outside the
alphabet, a file listed twice, the same recording twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds.base import Suite
from components.kinds.profile import numeric_profile, widened
from components.kinds.speech_recognition.data import OOD, TRANSCRIPTS, read_transcripts
from components.settings import FamilySettings

COLUMNS = ["file", "speaker", "decodable", "sample_rate", "channels", "seconds", "clipped",
           "rms_db", "bytes", "md5", "blank_text", "outside_alphabet", "fits"]  # fmt: skip


def _audio_facts(path: Path, folder: Path, settings) -> dict:
    """What validation needs of one file; `decodable` False when it cannot be read safely.

    Missing, outside the folder, too large, an unreadable header or rate, non-finite samples.
    """
    from components.kinds.speech_recognition.audio import read

    facts = {"decodable": False, "sample_rate": 0, "channels": 0, "seconds": 0.0,
             "clipped": 0.0, "rms_db": -200.0, "bytes": 0, "md5": ""}  # fmt: skip
    inside = path.resolve().is_relative_to(folder.resolve())
    if not inside or not path.is_file():  # a file DVC does not version is not training data
        return facts
    facts["bytes"] = path.stat().st_size
    if facts["bytes"] > settings.max_file_bytes:
        return facts  # not read: too large (its own rule says so)
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    facts["md5"] = digest.hexdigest()
    try:
        audio, rate, channels = read(path, settings.max_seconds * 4)  # longer: its own rule
    except ValueError:
        return facts
    mono = audio.mean(axis=1)
    rms = float(np.sqrt(np.mean(mono**2)))
    facts.update(
        decodable=True,
        sample_rate=rate,
        channels=channels,
        seconds=len(mono) / rate,
        clipped=float(np.mean(np.abs(audio) >= 0.99)),
        rms_db=20 * np.log10(max(rms, 1e-10)),
    )
    return facts


def output_steps(seconds: float, rate: int) -> int:
    """The model's output steps for audio of `seconds`: 10 ms frames, halved twice."""
    frames = int(round(seconds * rate)) // 160 + 1
    return ((frames + 1) // 2 + 1) // 2


def manifest(folder: Path, table: pd.DataFrame, settings) -> pd.DataFrame:
    """One row per listed file: its audio facts and its transcript's."""
    alphabet = set(settings.alphabet)
    speakers = table["speaker"] if "speaker" in table.columns else table["file"]
    rows = []
    for file, text, speaker in zip(table["file"], table["text"], speakers, strict=True):
        facts = _audio_facts(folder / str(file), folder, settings)
        lowered = " ".join(str(text).lower().split())
        # CTC writes a character per step at most, and a blank between two equal ones
        needed = len(lowered) + sum(a == b for a, b in zip(lowered, lowered[1:], strict=False))
        rows.append({
            "file": str(file),
            "speaker": str(speaker).strip() or str(file),
            **facts,
            "blank_text": not lowered,
            "outside_alphabet": sum(c not in alphabet for c in lowered),
            "fits": needed <= output_steps(facts["seconds"], settings.sample_rate),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def build_expectations(settings: FamilySettings) -> list:
    import great_expectations.expectations as gxe

    audio = settings.data.audio
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=settings.data.min_rows),
        gxe.ExpectColumnValuesToBeInSet(column="decodable", value_set=[True]),
        gxe.ExpectColumnValuesToBeBetween(
            column="bytes", min_value=1, max_value=audio.max_file_bytes
        ),  # fmt: skip
        gxe.ExpectColumnValuesToBeBetween(
            column="seconds", min_value=audio.min_seconds, max_value=audio.max_seconds
        ),
        gxe.ExpectColumnValuesToBeBetween(column="clipped", max_value=audio.max_clipped_share),
        gxe.ExpectColumnValuesToBeBetween(column="rms_db", min_value=audio.min_rms_db),
        gxe.ExpectColumnValuesToBeInSet(column="blank_text", value_set=[False]),
        # a transcript longer than the model's steps for its audio cannot be aligned
        gxe.ExpectColumnValuesToBeInSet(column="fits", value_set=[True]),
        # a split by speaker needs three at least (blank speakers count by file)
        gxe.ExpectColumnUniqueValueCountToBeBetween(column="speaker", min_value=3),
        gxe.ExpectColumnValuesToBeBetween(column="outside_alphabet", min_value=0, max_value=0),
        gxe.ExpectColumnValuesToBeUnique(column="file"),
        # the same recording twice could land in training and test: leakage
        gxe.ExpectColumnValuesToBeUnique(column="md5"),
    ]


def _table(folder: Path) -> pd.DataFrame | str:
    try:
        table = read_transcripts(folder)
    except FileNotFoundError:
        return f"expect_file_to_exist: {TRANSCRIPTS} is missing (columns file, text[, speaker])"
    except UnicodeDecodeError as exc:
        return f"expect_file_to_be_utf8({TRANSCRIPTS}): {exc}"
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        return f"expect_file_to_be_readable_csv({TRANSCRIPTS}): {exc}"
    missing = [c for c in ("file", "text") if c not in table.columns]
    if missing:
        return (f"expect_column_to_exist({', '.join(missing)}): {TRANSCRIPTS} has columns "
                f"{list(table.columns)[:10]}")  # fmt: skip
    return table


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The speech suite for `folder` (and its out-of-domain set `ood/`); never raises."""
    tables = {}
    for name, where in (("data", folder), ("ood", folder / OOD)):
        if name == "ood" and not (where / TRANSCRIPTS).is_file():
            continue
        table = _table(where)
        if isinstance(table, str):
            return Suite(problem=table if name == "data" else f"{OOD}/: {table}")
        tables[name] = (manifest(where, table, settings.data.audio), build_expectations(settings))
    rows = tables["data"][0]
    return Suite(tables=tables, stats={"files": len(rows), "seconds": int(rows["seconds"].sum())})


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """Duration and level ranges and the sample rates found."""
    rows = suite.tables["data"][0]
    return {
        "seconds": numeric_profile(rows["seconds"].astype("float64")),
        "rms_db": numeric_profile(rows["rms_db"].astype("float64")),
        "sample_rates": sorted(int(r) for r in rows["sample_rate"].unique()),
        "rows": len(rows),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """Durations within the accepted range and its margin."""
    import great_expectations.expectations as gxe

    rows, rules = suite.tables["data"]
    low, high = widened(accepted["seconds"]["min"], accepted["seconds"]["max"],
                        settings.data.contract_margin)  # fmt: skip
    added = [gxe.ExpectColumnValuesToBeBetween(column="seconds", min_value=low, max_value=high)]
    return replace(suite, tables={**suite.tables, "data": (rows, [*rules, *added])})
