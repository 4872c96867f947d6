"""What a task kind must provide; the pipeline's steps call only these methods.

A kind (tabular classification, image classification, forecasting, image generation, ...) knows
its data's shape: how to write its built-in data, what its validation suite checks, how to split,
train, score, plot and predict. A model family names its kind when it registers
(`components/models/registry.py`). Each kind is one package, `components/kinds/<kind>/`:

    kind.py        the `Kind` subclass below, tying the package together (training side)
    data.py        built-in data writer, reading the versioned folder, the split's datasets
    validation.py  its Great Expectations suite (a `Suite`: tables and their expectations)
    fit.py         how its families train (the shared trainer, or its own loop)
    inference.py   its typed model card and prediction in pure torch/numpy: what the MLflow
                   model and the BentoML service call; never imports training code
    schemas.py     the service's request models
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from components.kinds.card import ModelCard
from components.settings import FamilySettings

if TYPE_CHECKING:
    from torch.utils.data import Dataset

    from components.runtime.checkpoint import Checkpointer

PARTS = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """One seeded split of a family's data: a dataset of `(x, y)` examples per part.

    Small data is held in memory (`ArrayDataset`); large image folders are read from their files
    batch by batch. `x` and `y` give a part as whole arrays, for the kinds and plots that need
    them (for file-backed data that reads every file of the part).
    """

    data: dict[str, Dataset]  # "train" | "validation" | "test" → (x, y) examples
    dims: dict[str, int]  # what the network's builder needs, e.g. n_features, n_classes
    info: dict[str, Any]  # the kind's card fields: features, classes, window, ...
    digest: str  # hash of the split's membership, recorded on the run
    params: dict[str, str] = field(default_factory=dict)  # extra run params, e.g. gap counts
    workers: int = 0  # loader processes for file-backed parts

    @cached_property
    def _whole(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {part: self.arrays(part) for part in PARTS}

    @property
    def x(self) -> dict[str, np.ndarray]:
        return {part: arrays[0] for part, arrays in self._whole.items()}

    @property
    def y(self) -> dict[str, np.ndarray]:
        return {part: arrays[1] for part, arrays in self._whole.items()}

    def arrays(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """Part `part` as (inputs, targets) arrays."""
        dataset = self.data[part]
        if hasattr(dataset, "arrays"):
            return dataset.arrays()
        xs, ys = zip(*(dataset[i] for i in range(len(dataset))), strict=True)
        return np.stack([np.asarray(x) for x in xs]), np.asarray(ys)

    def size(self, part: str) -> int:
        return len(self.data[part])

    def labels(self, part: str) -> np.ndarray:
        """Part `part`'s targets, without reading its inputs where the dataset knows them."""
        dataset = self.data[part]
        if hasattr(dataset, "labels"):
            return np.asarray(dataset.labels)
        return self.arrays(part)[1]


@dataclass(frozen=True)
class Suite:
    """A kind's validation suite for one folder: tables and the expectations each must meet.

    `problem` is set when the data is too broken to build the tables (unreadable, missing); it
    fails the gate on its own. `failures` are findings stated before GX's own (a missing target).
    """

    tables: dict[str, tuple[Any, list]] = field(default_factory=dict)  # name → (frame, rules)
    stats: dict[str, int] = field(default_factory=dict)
    problem: str | None = None
    failures: list[str] = field(default_factory=list)


KINDS: dict[str, type[Kind]] = {}


class Kind(ABC):
    """The kind's operations; stateless, so one instance serves every family of the kind."""

    name: ClassVar[str]
    sources: ClassVar[tuple[str, ...]]  # user source kinds accepted: "csv", "folder"
    data_file: ClassVar[str | None] = None  # the single file a csv source is copied to
    card: ClassVar[type[ModelCard]]  # the kind's typed model card
    validation: ClassVar[ModuleType]  # its suite(), and profile() and contract() for contracts

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            if cls.name in KINDS:
                raise ValueError(f"task kind {cls.name!r} is defined twice")
            KINDS[cls.name] = cls

    @abstractmethod
    def write_builtin(self, family: str, folder: Path) -> None:
        """Write the built-in data set into `folder`, byte-identical every time."""

    def suite(self, settings: FamilySettings, folder: Path) -> Suite:
        """The kind's validation tables and expectations for `folder`; never raises on bad data.

        By default its `validation` module's `suite(settings, folder)`.
        """
        return self.validation.suite(settings, folder)

    @abstractmethod
    def load_split(self, folder: Path, settings: FamilySettings) -> Split:
        """Read validated data from `folder` and split it by the configured seed."""

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
        state is continued from (`components/runtime/checkpoint.py`).
        """

    @abstractmethod
    def score(self, model, card: ModelCard, split: Split) -> dict[str, float]:
        """Test metrics (keys `test_*`); DlopsError if the model does not fit this data."""

    @abstractmethod
    def plots(
        self, model, card: ModelCard, split: Split, history: list[dict], folder: Path
    ) -> list[Path]:
        """Write the kind's plots into `folder` and return their paths."""

    @abstractmethod
    def example(self, split: Split):
        """A small input example for the logged model's signature."""

    @abstractmethod
    def predict(self, model, card: ModelCard, model_input):
        """The logged (pyfunc) model's prediction for `model_input` (the inference module's)."""

    def profile(self, settings: FamilySettings, suite: Suite) -> dict[str, Any]:
        """The data contract's profile of validated data (plain JSON, from the suite's tables).

        Stored when a model first accepts data: its `validation` module's `profile`, or {} when
        the kind keeps no contract.
        """
        build = getattr(self.validation, "profile", None)
        return build(settings, suite) if build else {}

    def contract(self, settings: FamilySettings, suite: Suite, profile: dict[str, Any]) -> Suite:
        """`suite` with the rules of an accepted `profile` added (its module's `contract`).

        New data must still meet it: the same columns and labels, values within the accepted
        range and a margin.
        """
        rules = getattr(self.validation, "contract", None)
        return rules(settings, suite, profile) if rules else suite

    def paired_outcomes(self, model, card: ModelCard, split: Split, metric: str):
        """Per-test-example parts of `metric` for the gate's paired test (`Outcomes`).

        None when this kind has no paired form of that metric: the gate compares point values.
        """
        return None

    def baseline_outcomes(self, split: Split, metric: str):
        """Per-test-example parts of `metric` for the kind's naive baseline, or None.

        The gate's floor (`gate.beat_baseline`): a model must beat it beyond doubt.
        """
        return None

    def verdict(self, metrics: dict[str, float]) -> str | None:
        """The test metrics beside the kind's baselines, in words (None: no baseline to name).

        Printed in the run's summary and tagged on the run: a model that does not beat its
        baseline is said so plainly.
        """
        return None

    def drift_reference(
        self, model, card: ModelCard, split: Split, settings: FamilySettings, limit: int
    ) -> dict[str, Any] | None:
        """What the model learned from, as its service logs served inputs; None: no drift check.

        Columns of (at most `limit` seeded rows of) the training part, built by the kind's
        `inference.logged`, the function its service logs with: like is compared with like.
        """
        return None

    def drift_features(self, model, card: ModelCard, frame):
        """Named features of logged rows, each tested on its own (KS, or chi² for a few levels).

        They name what moved: the table's columns, an image's brightness, the predicted class.
        """
        raise NotImplementedError(f"{self.name}: no drift features")

    # what `drift_embeddings` returns, in the drift run's words
    drift_space: ClassVar[str] = "the champion's penultimate features"

    def drift_embeddings(self, model, card: ModelCard, frame) -> np.ndarray | None:
        """The model's penultimate features (N, D) of logged rows, for the MMD test.

        None when the per-feature tests decide (tables, observations).
        """
        return None

    def drift_export(
        self, card: ModelCard, frame, labels: list[str], folder: Path, settings: FamilySettings
    ) -> str:
        """Write labelled served rows into `folder` in the kind's own format; its `data.source`.

        `frame` holds logged rows (the kind's `inference.logged` columns), `labels` one label
        each. Kinds whose served inputs are not training examples refuse (DlopsError).
        """
        from components.project import DlopsError

        raise DlopsError(f"{self.name}: served inputs cannot be exported as training data")

    def make_card(self, settings: FamilySettings, split: Split, **common) -> ModelCard:
        """The trained model's card: the common fields and the split's kind-specific ones."""
        return self.card.model_validate(
            {
                "family": settings.family,
                "kind": self.name,
                "model": settings.model,
                "dims": split.dims,
                "split_digest": split.digest,
                "serving": settings.serving.model_dump(),
                **split.info,
                **common,
            }
        )

    def dataset_frame(self, folder: Path):
        """A table describing the training data, recorded as the run's input."""
        import pandas as pd

        files = sorted(p for p in folder.rglob("*") if p.is_file())
        return pd.DataFrame({"path": [str(p.relative_to(folder)) for p in files]})


def sample_rows(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most `limit` of `n` rows, seeded: every row when `n <= limit`."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def check_compatible(card: ModelCard, split: Split, keys: tuple[str, ...]) -> None:
    """A model can only be scored on data with the inputs and labels it was trained on."""
    from components.project import DlopsError

    if any(getattr(card, key, None) != split.info.get(key) for key in keys):
        raise DlopsError(f"model was trained on other {' / '.join(keys)} than the current data")
