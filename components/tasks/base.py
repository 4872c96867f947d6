"""What a family's task kind must provide; the pipeline's steps call only these methods.

A task kind (tabular classification, image classification, forecasting, generation) knows its
data's shape: how to materialise built-in data, validate, split, train, score, plot and predict.
A model family names its task kind when it registers (`components/models/registry.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from components.project import Project
from components.settings import FamilySettings
from components.validation.gx_runner import ValidationReport

if TYPE_CHECKING:
    from components.training.checkpoint import Checkpointer


@dataclass(frozen=True)
class Split:
    """One seeded split of a family's data, held in memory by the step that made it."""

    x: dict[str, np.ndarray]  # "train" | "validation" | "test" → inputs
    y: dict[str, np.ndarray]  # → targets (labels, future values, or labels to condition on)
    dims: dict[str, int]  # what the network's builder needs, e.g. n_features, n_classes
    info: dict[str, Any]  # what the served model needs: features, classes, window, ...
    digest: str  # hash of the split's membership, recorded on the run
    params: dict[str, str] = field(default_factory=dict)  # extra run params, e.g. gap counts


TASK_KINDS: dict[str, type[Task]] = {}


class Task(ABC):
    """The task kind's operations; stateless, so one instance serves every family of the kind."""

    kind: ClassVar[str]
    sources: ClassVar[tuple[str, ...]]  # user source kinds accepted: "csv", "folder"
    data_file: ClassVar[str | None] = None  # the single file a csv source is copied to

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            if cls.kind in TASK_KINDS:
                raise ValueError(f"task kind {cls.kind!r} is defined twice")
            TASK_KINDS[cls.kind] = cls

    @abstractmethod
    def write_builtin(self, family: str, folder: Path) -> None:
        """Materialise the built-in data set into `folder`, byte-identical every time."""

    @abstractmethod
    def validate(
        self, project: Project, settings: FamilySettings, folder: Path
    ) -> ValidationReport:
        """Run the kind's GX suite on `folder`; report failures, never raise on bad data."""

    @abstractmethod
    def load_split(self, folder: Path, settings: FamilySettings) -> Split:
        """Load validated data from `folder` and split it by the configured seed."""

    @abstractmethod
    def fit(
        self,
        model,
        split: Split,
        settings: FamilySettings,
        device,
        workdir: Path,
        checkpoints: Checkpointer | None = None,
    ):
        """Train `model` in place (best epoch's weights kept); return the FitResult.

        Files written into `workdir` during training (e.g. per-epoch sample grids) are logged
        to the run under `training/`. With `checkpoints`, every epoch is saved there and a saved
        state is continued from (`components/training/checkpoint.py`).
        """

    @abstractmethod
    def score(self, model, card: dict, split: Split) -> dict[str, float]:
        """Test metrics (keys `test_*`); DlopsError if the model does not fit this data."""

    @abstractmethod
    def plots(
        self, model, card: dict, split: Split, history: list[dict], folder: Path
    ) -> list[Path]:
        """Write the kind's plots into `folder` and return their paths."""

    @abstractmethod
    def example(self, split: Split):
        """A small input example for the logged model's signature."""

    @abstractmethod
    def predict(self, model, card: dict, model_input):
        """The logged (pyfunc) model's prediction for `model_input`."""

    def paired_outcomes(self, model, card: dict, split: Split, metric: str):
        """Per-test-example parts of `metric` for the gate's paired test (`Outcomes`).

        None when this kind has no paired form of that metric: the gate compares point values.
        """
        return None

    def dataset_frame(self, folder: Path):
        """A table describing the training data, recorded as the run's input."""
        import pandas as pd

        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return pd.DataFrame({"path": [str(p.relative_to(folder)) for p in files]})
