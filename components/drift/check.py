"""The drift check: the served inputs of a model's champion against what it learned from.

Reference: the `drift/reference.parquet` the champion's training run logged (its training
inputs, in the form its service logs). Current: the latest `window` rows the service logged for
that version. The kind names the features (a table's columns, an image's brightness, the
predicted class) tested one by one (KS / chi², Holm-corrected) and, for images and text, gives
the champion's penultimate features for an MMD test, which then decides. Each check is one run
of the MLflow experiment `drift`: statistic, p-value, the features that moved, the window, the
model version and a plot of the biggest shift.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from components import tags as tag
from components.data.versioning import restore
from components.evaluation.evaluate import DRIFT_REFERENCE, REFERENCE_ROWS, write_reference
from components.kinds import kind_for
from components.kinds.base import Kind
from components.kinds.card import load_model
from components.project import DlopsError, Project
from components.registry.versions import CHAMPION, alias_version, version_info
from components.runtime.input_log import TIME, folder_of, read_window
from components.runtime.plots import plot_shift
from components.runtime.two_sample import FeatureTest, feature_tests, mmd_test
from components.settings import DriftSettings, FamilySettings
from components.tracking import runs
from components.tracking.models import local_model_dir

PER_FEATURE = "per-feature KS / chi², Holm-corrected"


@dataclass
class DriftResult:
    """One check's outcome, as `dlops drift` prints it and the MLflow run records it."""

    family: str
    model_name: str
    version: str
    status: str  # drift | no drift | too few rows
    rows: int
    reference_rows: int = 0
    method: str = ""
    statistic: float | None = None
    p_value: float | None = None
    moved: list[str] = field(default_factory=list)
    tests: list[dict] = field(default_factory=list)
    window_start: str = ""
    window_end: str = ""
    run_id: str = ""
    triggered: bool = False
    reason: str = ""  # why a retrain was (not) triggered
    plot: str | None = None

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    def summary(self) -> str:
        """One line: what was compared and what it found."""
        head = f"{self.model_name} v{self.version}: {self.status} ({self.rows} served rows"
        if self.p_value is None:
            return f"{head})"
        moved = f"; moved: {', '.join(self.moved)}" if self.moved else ""
        return f"{head}, p={self.p_value:.3g} by {self.method}{moved})"


def reference_of(project: Project, settings: FamilySettings, version: str, model, card):
    """The reference frame the version's training run logged.

    A version trained before drift checks has none: it is rebuilt from the version's own data
    version (restored from DVC) and logged on its run, once.
    """
    import pandas as pd
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    info = version_info(settings.model_name, version)
    try:
        return pd.read_parquet(
            download_artifacts(run_id=info.run_id, artifact_path=DRIFT_REFERENCE)
        )
    except (MlflowException, OSError):
        pass
    data_version = info.tags.get(tag.DATA_VERSION)
    if not data_version:
        raise DlopsError(f"{settings.model_name} v{version}: no data version to rebuild its "
                         "drift reference from")  # fmt: skip
    kind = kind_for(settings.family)
    project.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=project.work) as folder:
        restore(project, data_version, Path(folder))
        split = kind.load_split(Path(folder), settings)
        columns = kind.drift_reference(model, card, split, settings, REFERENCE_ROWS)
    path = project.work / "drift" / "references" / info.run_id / Path(DRIFT_REFERENCE).name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_reference(columns, path)
    runs.log_artifact(info.run_id, path, str(Path(DRIFT_REFERENCE).parent))
    return pd.read_parquet(path)


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def measure(project: Project, settings: FamilySettings, drift: DriftSettings):
    """Compare the champion's latest served inputs with its reference (no run, no trigger).

    Returns:
        The result, and the (reference, served) feature frames it tested (None with too few
        served rows).
    """
    name, family = settings.model_name, settings.family
    version = alias_version(name, CHAMPION)
    if version is None:
        raise DlopsError(f"{name} has no champion: nothing is served to check")
    kind = kind_for(family)
    if type(kind).drift_features is Kind.drift_features:
        raise DlopsError(f"{family}: drift is not measured for the {kind.name} kind yet")
    frame = read_window(folder_of(project.served, name, version), drift.window)
    result = DriftResult(family, name, version, "too few rows", rows=len(frame))
    if len(frame):
        result.window_start, result.window_end = (_stamp(frame[TIME].iloc[i]) for i in (0, -1))
    if len(frame) < drift.min_window:
        result.reason = f"{len(frame)} served rows, fewer than drift.min_window={drift.min_window}"
        return result, None
    model, card = load_model(local_model_dir(version_info(name, version).source))
    reference = reference_of(project, settings, version, model, card)
    result.reference_rows = len(reference)
    try:
        features = (
            kind.drift_features(model, card, reference),
            kind.drift_features(model, card, frame),
        )
        embedded = kind.drift_embeddings(model, card, reference)
        current = None if embedded is None else kind.drift_embeddings(model, card, frame)
    except (KeyError, ValueError) as exc:  # a log of another model's inputs
        raise DlopsError(f"{name} v{version}: served inputs do not fit the model ({exc})") from None
    tests = feature_tests(*features)
    result.tests = [t.row() for t in tests]
    result.moved = [t.feature for t in tests if t.adjusted_p < drift.alpha]
    if embedded is not None:
        result.statistic, result.p_value = mmd_test(embedded, current, drift.permutations)
        result.method = f"MMD on {kind.drift_space} (RBF kernel, permutation test)"
    elif tests:
        result.statistic, result.p_value = tests[0].statistic, tests[0].adjusted_p
        result.method = PER_FEATURE
    else:
        raise DlopsError(f"{name}: no feature to test")
    result.status = "drift" if result.p_value < drift.alpha else "no drift"
    return result, features


def last_trigger(experiment_id: str, model_name: str) -> float | None:
    """When a drift check last triggered a retrain of `model_name` (Unix time), or None."""
    found = runs.client().search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{tag.MODEL}` = '{model_name}' and tags.`{tag.DRIFT_TRIGGERED}` = 'true' "
            "and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0].info.start_time / 1000 if found else None


def decide_trigger(result: DriftResult, drift: DriftSettings, last: float | None) -> None:
    """Set `triggered` and its reason: drift, retraining on, and not within the cool-down."""
    if not result.drifted:
        result.reason = result.reason or "no drift: nothing to retrain"
    elif not drift.retrain:
        result.reason = "drift.retrain is off: drift is reported, no retrain"
    elif last is not None and time.time() - last < drift.cooldown_hours * 3600:
        result.reason = (
            f"cool-down: a drift retrain was triggered at {_stamp(last)}, within "
            f"drift.cooldown_hours={drift.cooldown_hours:g}"
        )
    else:
        result.triggered = True
        result.reason = "drift beyond drift.alpha: retrain through the gate"


def check(project: Project, settings: FamilySettings, drift: DriftSettings) -> DriftResult:
    """Measure drift, decide the trigger and record both as a run of the `drift` experiment.

    The run is tagged `drift.triggered` last, once its evidence is logged: a check that fails
    half-way is a FAILED run that holds no cool-down.
    """
    result, features = measure(project, settings, drift)
    experiment_id = runs.ensure_experiment(project, tag.DRIFT_EXPERIMENT)
    decide_trigger(result, drift, last_trigger(experiment_id, result.model_name))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    run = runs.client().create_run(
        experiment_id,
        run_name=f"{result.family} drift v{result.version} {stamp}",
        tags={
            tag.RUN_KIND: "drift",
            tag.FAMILY: result.family,
            tag.MODEL: result.model_name,
            tag.MODEL_VERSION: result.version,
            tag.DRIFT_STATUS: result.status,
            "drift.moved": ", ".join(result.moved)[:5000],
            "drift.reason": result.reason[:5000],
        },
    )
    result.run_id = run_id = run.info.run_id
    try:
        _log_evidence(project, result, features, drift)
        runs.set_tags(run_id, {tag.DRIFT_TRIGGERED: str(result.triggered).lower()})
    except BaseException:
        runs.end_run(run_id, ok=False)
        raise
    runs.end_run(run_id, ok=True)
    return result


def _log_evidence(project: Project, result: DriftResult, features, drift: DriftSettings) -> None:
    """The check's params, metrics, feature table and the plot of the biggest shift."""
    run_id = result.run_id
    runs.log_params(
        run_id,
        {
            "window": str(drift.window),
            "window_start": result.window_start,
            "window_end": result.window_end,
            "method": result.method,
            "alpha": str(drift.alpha),
            "min_window": str(drift.min_window),
        },
    )
    metrics = {"rows": float(result.rows), "reference_rows": float(result.reference_rows)}
    if result.p_value is not None:
        metrics |= {"statistic": result.statistic, "p_value": result.p_value}
        metrics["moved_features"] = float(len(result.moved))
    runs.log_metrics(run_id, metrics)
    folder = project.work / "drift" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / "features.json"
    table.write_text(json.dumps(result.tests, indent=1))
    runs.log_artifact(run_id, table, "drift")
    if features is None or not result.tests:
        return
    top = FeatureTest(**result.tests[0])
    reference, current = (f[top.feature].to_numpy(dtype=float) for f in features)
    reference, current = reference[np.isfinite(reference)], current[np.isfinite(current)]
    if len(reference) and len(current):
        title = (
            f"{result.model_name} v{result.version}: {top.feature} "
            f"({top.test} {top.statistic:.3g}, adjusted p={top.adjusted_p:.2g})"
        )
        plot = plot_shift(reference, current, top.feature, title, folder / "biggest_shift.png")
        result.plot = str(plot)
        runs.log_artifact(run_id, plot, "drift")
