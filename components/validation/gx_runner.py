"""Run a Great Expectations suite on a DataFrame: Data Docs on disk, failures summarised."""

from __future__ import annotations

import json
import math
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from components.project import DlopsError, Project


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of a validation gate: small and serialisable, passed between steps."""

    family: str
    success: bool
    failures: list[str] = field(default_factory=list)
    result_file: str | None = None
    docs_index: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    profile: dict = field(default_factory=dict)  # the kind's contract profile of this data


# A failure's text: `expectation(column): what was seen` or `expectation: what was seen`.
FAILURE = re.compile(r"^(?P<rule>[\w.]+)(\((?P<column>[^)]*)\))?(?P<rest>.*)$", re.S)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def summarise(failures: list[str], limit: int = 12, width: int = 70) -> list[str]:
    """The failures as one line per column (first found first, table-wide ones last).

    At most `limit` lines: a screenful, whatever the number of expectations; each failure's
    text is cut at `width` characters (the Data Docs hold them whole).
    """
    by_column: dict[str, list[str]] = {}
    for failure in failures:
        match = FAILURE.match(failure)
        column = match["column"] if match and match["column"] else ""
        text = f"{match['rule']}{match['rest']}" if match and match["column"] else failure
        by_column.setdefault(column, []).append(_clip(" ".join(text.split()), width))
    lines = []
    for column in sorted(by_column, key=lambda c: c == ""):  # stable: first seen first
        where = f"column {column!r}" if column else "table"
        lines.append(f"  {where}: {'; '.join(by_column[column])}")
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"  ... and {len(lines) - limit + 1} more columns"]
    return lines


class ValidationFailed(DlopsError):
    """Data failed its suite: the family stops before training, nothing is versioned."""

    def __init__(self, report: ValidationReport):
        self.report = report
        count = len(report.failures)
        lines = "\n".join(summarise(report.failures))
        docs = report.docs_index
        where = f"\n  the full list in the Data Docs: {docs}" if docs else ""
        super().__init__(
            f"{report.family}: data validation failed ({count} "
            f"{'expectation' if count == 1 else 'expectations'}):\n{lines}{where}"
        )


def _jsonable(value):
    """GX results hold numpy scalars and inf/NaN: make them strict JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _exception_messages(result) -> list[str]:
    info = result.exception_info or {}
    if "raised_exception" in info:  # expectation-level: one flat record
        return [info["exception_message"]] if info["raised_exception"] else []
    return [getattr(v, "exception_message", str(v)) for v in info.values()]


def describe_failure(result) -> str:
    """One phrase per failed expectation: its type, column, and what was observed."""
    config, res = result.expectation_config, result.result or {}
    column = config.kwargs.get("column")
    name = f"{config.type}({column})" if column else config.type
    mismatched = (res.get("details") or {}).get("mismatched")
    if mismatched:  # a table's columns: name the missing and the unexpected ones
        columns = [*(mismatched.get("missing") or []), *(mismatched.get("unexpected") or [])]
        parts = [f"{k} {_jsonable(v)}" for k, v in mismatched.items() if v]
        return f"{config.type}({', '.join(map(str, columns))}): {', '.join(parts)}"
    if res.get("unexpected_count"):
        sample = _jsonable(res.get("partial_unexpected_list") or [])[:3]
        return f"{name}: {res['unexpected_count']} unexpected values, e.g. {sample}"
    if "observed_value" in res:
        return f"{name}: observed {_jsonable(res['observed_value'])}"
    messages = _exception_messages(result)
    return f"{name}: {messages[0]}" if messages else name


def _checkpoint(context, name: str, expectations: list):
    """The GX objects of one suite, in a context of this validation's own."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    source = context.data_sources.add_pandas(name=name)
    batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    return context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
    )


KEEP_FOLDERS = 20  # validation folders kept per model (the newest)


def validation_folder(project: Project, key: str) -> Path:
    """A new folder for one validation of model `key`: its result file and Data Docs.

    Named by time and a random token, so two runs of one model (or two models) never write
    into the same place; the oldest beyond `KEEP_FOLDERS` are removed.
    """
    base = project.work / "validation" / key
    base.mkdir(parents=True, exist_ok=True)
    old = sorted(p for p in base.iterdir() if p.is_dir())
    for stale in old[: max(0, len(old) - KEEP_FOLDERS + 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    folder = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir()
    return folder


def _context(docs: Path):
    """An in-memory GX context whose Data Docs site is `docs`.

    Suites, validation definitions and checkpoints live only in this context: two validations
    at once, of one model or of two, share no mutable GX object and no config file.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={"local_site": site},
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(
    project: Project,
    family: str,
    key: str,
    tables: dict[str, tuple],
    stats: dict[str, int] | None = None,
) -> ValidationReport:
    """Validate each table (name → (frame, expectations)) as one gate of model `key`.

    Writes the Data Docs and the result JSON into a folder of this validation's own.
    """
    folder = validation_folder(project, key)
    context = _context(folder / "docs")
    success, failures, results = True, [], []
    for table, (table_frame, table_expectations) in tables.items():
        name = f"dlops-{key}" if table == "data" else f"dlops-{key}-{table}"
        outcome = _checkpoint(context, name, table_expectations).run(
            batch_parameters={"dataframe": table_frame}
        )
        success = success and outcome.success
        for run in outcome.run_results.values():
            failures += [describe_failure(r) for r in run.results if not r.success]
            results.append(run.to_json_dict())
    result_file = folder / "validation_result.json"
    result_file.write_text(json.dumps(_jsonable(results), indent=1))
    docs = folder / "docs" / "index.html"
    return ValidationReport(
        family,
        success,
        failures,
        str(result_file),
        str(docs) if docs.is_file() else None,
        stats or {},
    )


def failed_to_read(project: Project, family: str, key: str, problem: str) -> ValidationReport:
    """A report for data too broken to reach GX at all (unreadable, empty file)."""
    result_file = validation_folder(project, key) / "validation_result.json"
    result_file.write_text(json.dumps({"success": False, "failures": [problem]}, indent=1))
    return ValidationReport(family, False, [problem], str(result_file), None)


def require(report: ValidationReport) -> ValidationReport:
    """Raise ValidationFailed unless the report passed."""
    if not report.success:
        raise ValidationFailed(report)
    return report
