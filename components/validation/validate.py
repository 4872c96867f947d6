"""The validation step: the family's kind builds its suite, Great Expectations runs it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.kinds import kind_for
from components.project import Project
from components.settings import FamilySettings
from components.validation.gx_runner import ValidationReport, failed_to_read, run_suite


def validate_folder(project: Project, settings: FamilySettings, folder: Path) -> ValidationReport:
    """Run the kind's suite on `folder`: Data Docs and a result file; never raises on bad data."""
    suite = kind_for(settings.family).suite(settings, folder)
    if suite.problem is not None:
        return failed_to_read(project, settings.family, suite.problem)
    report = run_suite(project, settings.family, tables=suite.tables, stats=suite.stats)
    if suite.failures:
        report = replace(report, success=False, failures=[*suite.failures, *report.failures])
    return report
