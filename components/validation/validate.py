"""The validation step: the family's kind builds its suite, Great Expectations runs it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from components.kinds import kind_for
from components.project import Project
from components.settings import FamilySettings
from components.validation.gx_runner import ValidationReport, failed_to_read, run_suite


def validate_folder(
    project: Project,
    settings: FamilySettings,
    folder: Path,
    accepted: dict[str, Any] | None = None,
) -> ValidationReport:
    """Run the kind's suite on `folder`: Data Docs and a result file; never raises on bad data.

    With `accepted` (a contract's profile) the data must also meet the contract's rules. The
    report carries this data's own profile, to store as the contract when it is accepted.
    """
    kind = kind_for(settings.family)
    suite = kind.suite(settings, folder)
    if suite.problem is not None:
        return failed_to_read(project, settings.family, settings.data_key, suite.problem)
    checked = kind.contract(settings, suite, accepted) if accepted else suite
    report = run_suite(project, settings.family, settings.data_key, checked.tables, checked.stats)
    if checked.failures:
        return replace(report, success=False, failures=[*checked.failures, *report.failures])
    return replace(report, profile=kind.profile(settings, suite) if report.success else {})
