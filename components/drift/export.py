"""`dlops drift --export`: a served window, labelled by the user, as a data version candidate.

The rows of the model's latest served window (whichever version answered them) that the labels
file names are written in the kind's own format (a CSV, class folders of images) into a new
folder; the CLI then validates it like any other data (the kind's suite and the model's
contract). Nothing is versioned here: `dlops run --set data.source=...` makes it the model's
next data version.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from components.kinds import kind_for
from components.kinds.card import load_model
from components.project import DlopsError, Project
from components.registry.versions import CHAMPION, alias_version, version_info
from components.runtime.input_log import ID, read_window
from components.settings import FamilySettings
from components.tracking.models import local_model_dir

LABELS_HELP = "a CSV with columns _id (the served row's id, as logged) and label"


@dataclass(frozen=True)
class Exported:
    """What was written: the `data.source` to train on and the rows kept and left out."""

    source: str
    rows: int
    unlabelled: int
    version: str


def read_labels(path: Path) -> dict[str, str]:
    """Row id → label from the user's labels file; DlopsError naming what is wrong."""
    import pandas as pd

    if not path.is_file():
        raise DlopsError(f"--labels: {path} is not a file ({LABELS_HELP})")
    try:
        table = pd.read_csv(path, dtype="string", keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DlopsError(f"--labels: {path} is not a readable CSV ({exc})") from None
    missing = [c for c in (ID, "label") if c not in table.columns]
    if missing:
        raise DlopsError(
            f"--labels: {path} lacks the column(s) {', '.join(missing)} ({LABELS_HELP})"
        )
    empty = table.index[table["label"].str.strip() == ""].tolist()
    if empty:
        raise DlopsError(f"--labels: {path} has rows with an empty label (rows {empty[:5]})")
    if table[ID].duplicated().any():
        raise DlopsError(f"--labels: {path} names a row id twice")
    unsafe = sorted({v for v in table["label"] if v in (".", "..") or "/" in v or "\\" in v})
    if unsafe:  # a label becomes a folder name (image classes)
        raise DlopsError(f"--labels: {path} has labels that are not names: {unsafe[:5]}")
    return dict(zip(table[ID], table["label"], strict=True))


def export(
    project: Project,
    settings: FamilySettings,
    destination: Path,
    labels_path: Path,
    window: int,
) -> Exported:
    """Write the labelled rows of the latest `window` served rows into `destination` (new)."""
    name = settings.model_name
    if destination.exists() and any(destination.iterdir()):
        raise DlopsError(f"--export: {destination} exists and is not empty")
    labels = read_labels(labels_path)
    version = alias_version(name, CHAMPION)
    if version is None:
        raise DlopsError(f"{name} has no champion: nothing is served to export")
    frame = read_window(project.served / name, window, versions=True)
    if frame.empty:
        raise DlopsError(f"{name}: no served inputs logged yet")
    labelled = frame[frame[ID].isin(labels)].reset_index(drop=True)
    if labelled.empty:
        raise DlopsError(
            f"--labels: none of its row ids is among the {len(frame)} latest served rows of {name}"
        )
    _, card = load_model(local_model_dir(version_info(name, version).source))
    destination.parent.mkdir(parents=True, exist_ok=True)
    # written beside, moved in whole: a failure leaves no half-written candidate
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        source = kind_for(settings.family).drift_export(
            card, labelled, [labels[i] for i in labelled[ID]], staging, settings
        )
        if destination.exists():
            destination.rmdir()
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    kind, _, path = source.partition(":")
    source = f"{kind}:{destination / Path(path).relative_to(staging)}"
    return Exported(source, len(labelled), len(frame) - len(labelled), version)
