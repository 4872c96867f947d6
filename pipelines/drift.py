"""The drift flow (`dlops drift`): check each champion's served inputs; drift retrains it.

A check that finds drift beyond `drift.alpha`, on at least `drift.min_window` served rows and
outside the cool-down, runs the training flow for that model with the drift check's run as its
cause: the retrain goes through the usual gate, and its ledger entry links the check.

No `from __future__ import annotations` here: Prefect builds the flow's parameter model from
these annotations.
"""

from dataclasses import asdict
from pathlib import Path

from prefect import flow

from components.config import load_family, load_pipeline
from components.project import DlopsError, Project, setup_environment
from components.registry.versions import CHAMPION, alias_version, version_settings
from components.settings import DriftSettings, FamilySettings, default_model_name
from pipelines import steps
from pipelines.training import training_pipeline


def model_settings(
    project: Project, family: str, model_name: str, config: Path | None, overrides: list[str]
) -> FamilySettings:
    """The settings the model's champion was trained with (the CLI checked it has one)."""
    champion = alias_version(model_name, CHAMPION)
    if champion is None:
        raise DlopsError(f"{model_name} has no champion: nothing is served to check")
    return version_settings(
        model_name, champion, lambda: load_family(project, family, config, overrides)
    )


def retrain_overrides(settings: FamilySettings, overrides: list[str]) -> list[str]:
    """`--set` values that retrain the same model: a user's data set names its source."""
    if settings.model_name == default_model_name(settings.family):
        return overrides
    own = [f"data.source={settings.data.source}"]
    if settings.registry.model_name:
        own.append(f"registry.model_name={settings.registry.model_name}")
    return own + overrides


@flow(name="dlops-drift", log_prints=True)
def drift_pipeline(
    models: dict[str, str],
    config: Path | None = None,
    overrides: list[str] | None = None,
    drift: DriftSettings | None = None,
) -> list[dict]:
    """Check each model (family → registered model) for drift; retrain the ones that drifted.

    Returns one row per model: the check's result (None: not checked; `error` when the check
    failed) and, when it triggered, the retrain's outcome.
    """
    project = Project.current()
    setup_environment(project)
    pipeline = load_pipeline(project, config)
    drift = drift or pipeline.drift
    rows = []
    for family, name in models.items():
        try:
            settings = model_settings(project, family, name, config, overrides or [])
            result = steps.checked_for_drift(project, settings, drift, pipeline.notify)
        except Exception as exc:  # one model's failed check does not stop the others
            error = f"{type(exc).__name__}: {exc}"
            print(f"{name}: the drift check failed ({error})")
            rows.append({"family": family, "model_name": name, "check": None, "error": error})
            continue
        row = {"family": family, "model_name": name, "check": asdict(result) if result else None}
        if result is not None and result.triggered:
            [row["retrain"]] = training_pipeline(
                families=[family],
                config=config,
                overrides=retrain_overrides(settings, overrides or []),
                causes={family: f"drift:{result.run_id}"},
            )
        rows.append(row)
    return rows
