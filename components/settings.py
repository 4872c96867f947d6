"""Typed settings: `configs/*.yaml`, a `--config` overlay and `--set key=value` overrides."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from components.project import DlopsError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSettings(_Strict):
    """Train/validation/test split, fixed by seed."""

    test: float = Field(0.2, gt=0, lt=1, description="fraction of rows held out for test")
    validation: float = Field(0.2, gt=0, lt=1, description="fraction of rows for early stopping")
    seed: int = 42

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> SplitSettings:
        if self.test + self.validation >= 0.9:
            raise ValueError("split.test + split.validation must leave at least 10% for training")
        return self


class TabularExpectations(_Strict):
    """What a tabular data set must look like; unset fields are derived (see validation)."""

    features: list[str] | None = Field(None, description="feature columns, in order")
    labels: list[int | str] | None = Field(None, description="the allowed label values")
    ranges: dict[str, tuple[float | None, float | None]] = Field(
        default_factory=dict, description="column → [min, max]; either bound may be null"
    )


class ImageSettings(_Strict):
    """How image folders are read and what they must look like."""

    size: int = Field(8, ge=4, le=512, description="images are resized to size x size")
    mode: Literal["L", "RGB"] = Field("L", description="images are converted to this mode")
    allowed_modes: list[str] = Field(
        default_factory=lambda: ["L", "RGB", "RGBA", "P", "LA"],
        description="modes accepted from files; others fail validation",
    )
    max_file_bytes: int = Field(5_000_000, ge=1, description="larger files fail validation")
    min_per_class: int = Field(5, ge=1, description="a class with fewer images fails validation")


class PairSettings(_Strict):
    """What sentence pairs (translation) must look like."""

    length_ratio: tuple[float, float] = Field(
        (0.2, 5.0), description="target characters per source character: [min, max]"
    )
    max_copy_share: float = Field(
        0.01, ge=0, le=1, description="share of pairs whose target repeats the source allowed"
    )
    builtin_max_source_words: int | None = Field(
        None,
        ge=1,
        description="the built-in data's pairs of at most this many source words are used (a "
        "CPU budget); a user's own pairs are all used",
    )

    @field_validator("length_ratio")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 < value[0] < value[1]:
            raise ValueError(f"must be [min, max] with 0 < min < max, got {list(value)}")
        return value


class AudioSettings(_Strict):
    """What recordings (speech recognition) must look like, and how they are read."""

    sample_rate: int = Field(16_000, ge=4_000, le=96_000, description="audio is resampled to it")
    min_seconds: float = Field(0.2, ge=0, description="shorter recordings fail validation")
    max_seconds: float = Field(8.0, gt=0, le=60, description="longer recordings fail validation")
    max_clipped_share: float = Field(
        0.01, ge=0, le=1, description="share of a file's samples at full scale allowed"
    )
    min_rms_db: float = Field(-50.0, description="a quieter file (RMS, dBFS) counts as silent")
    max_file_bytes: int = Field(20_000_000, ge=1, description="larger files fail validation")
    alphabet: str = Field(
        "abcdefghijklmnopqrstuvwxyz '",
        min_length=2,
        description="the characters transcripts may hold (after lower-casing): the model's output",
    )


class DetectionSettings(_Strict):
    """What images and boxes (object detection) must look like, and how images are read."""

    image_size: int = Field(
        96, ge=32, le=1024, multiple_of=16, description="images are resized to this square"
    )
    min_box_pixels: float = Field(
        2.0, ge=0, description="a box narrower or lower than this (image pixels) fails validation"
    )
    max_empty_share: float = Field(
        0.5, ge=0, le=1, description="share of images without boxes allowed"
    )
    max_file_bytes: int = Field(10_000_000, ge=1, description="larger images fail validation")


class SeriesSettings(_Strict):
    """Windows of a time series and what the series must look like."""

    window: int = Field(52, ge=2, description="history length the model reads")
    horizon: int = Field(4, ge=1, description="steps forecast at once")
    season_length: int = Field(52, ge=1, description="period of the seasonal-naive baseline")
    max_gap_fraction: float = Field(0.1, ge=0, lt=1, description="share of missing steps allowed")


class DataSettings(_Strict):
    """Where a family's data comes from and what it must look like."""

    source: str = Field("builtin", description="builtin | csv:PATH | folder:PATH")
    target: str = Field("target", description="label column (tabular) or value column (series)")
    time: str | None = Field(None, description="time column of a series")
    text: str = Field("text", description="text column (text classification; translation's source)")
    split: SplitSettings = SplitSettings()
    min_rows: int = Field(50, ge=1, description="validation fails below this many rows")
    max_classes: int = Field(100, ge=2, description="validation fails above this many labels")
    expect: TabularExpectations = TabularExpectations()
    image: ImageSettings = ImageSettings()
    series: SeriesSettings = SeriesSettings()
    pairs: PairSettings = PairSettings()
    audio: AudioSettings = AudioSettings()
    detection: DetectionSettings = DetectionSettings()
    class_names: dict[str, str] = Field(
        default_factory=dict, description="label value → the name responses and plots use"
    )
    in_memory_mb: float = Field(
        256,
        ge=0,
        description="decoded images up to this size are held in memory; a larger "
        "folder is read from its files batch by batch",
    )
    workers: int = Field(
        -1,
        ge=-1,
        le=64,
        description="loader processes for data read from files; -1: one per "
        "core but one (at most 4)",
    )
    contract_margin: float = Field(
        0.1,
        ge=0,
        le=100,
        description="a later data version's values may lie outside the model's accepted "
        "range by this share of the range's width (the data contract)",
    )

    @field_validator("class_names", mode="before")
    @classmethod
    def _names_by_text(cls, value: Any) -> Any:
        # YAML reads `0: malignant` with an integer key: labels are matched as text
        if isinstance(value, dict):
            for key, name in value.items():
                if not isinstance(name, str):  # YAML reads `yes`/`no` as booleans
                    raise ValueError(
                        f"the name of label {key} must be text, not {name!r}: quote it"
                    )
            names = {str(key): name for key, name in value.items()}
            if len(set(names.values())) < len(names):
                raise ValueError("two labels may not share a name")
            return names
        return value

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        kind, _, path = value.partition(":")
        if value == "builtin" or (kind in {"csv", "folder"} and path):
            return value
        raise ValueError(f"must be 'builtin', 'csv:PATH' or 'folder:PATH', got {value!r}")

    @property
    def source_kind(self) -> str:
        return self.source.partition(":")[0]

    @property
    def source_path(self) -> Path | None:
        kind, _, path = self.source.partition(":")
        return Path(path).expanduser().resolve() if path else None


class TrainSettings(_Strict):
    """Optimisation and the device it runs on."""

    epochs: int = Field(100, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    patience: int = Field(10, ge=1, description="epochs without validation improvement")
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="learning rate per epoch: constant, or cosine decay to 0"
    )
    clip_grad_norm: float | None = Field(
        None, gt=0, description="gradients are scaled down to this norm at most (recurrent nets)"
    )
    seed: int = 42
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    progress: bool = True
    min_steps_per_epoch: int = Field(
        4, ge=1, description="small data: the batch shrinks to give each epoch this many steps"
    )
    min_patience_steps: int = Field(
        100, ge=0, description="small data: patience grows to wait at least this many steps"
    )

    def adapted(self, examples: int) -> TrainSettings:
        """These settings for a training set of `examples` (a large set's are unchanged).

        A small set gets a smaller batch (`min_steps_per_epoch` steps an epoch) and a longer
        patience (`min_patience_steps` steps without improvement before stopping).
        """
        batch = self.batch_size
        if batch > 1:  # a batch of one is configured on purpose; otherwise never one (batch norm)
            if examples < batch * self.min_steps_per_epoch:
                batch = max(2, -(-examples // self.min_steps_per_epoch))
            while examples % batch == 1 and batch < examples:  # nor a last batch of one
                batch += 1
        steps = max(1, -(-examples // batch))  # per epoch
        patience = max(self.patience, -(-self.min_patience_steps // steps))
        return self.model_copy(update={"batch_size": batch, "patience": patience})


class GateSettings(_Strict):
    """How a challenger is compared with the champion."""

    metric: str = Field("test_accuracy", description="metric key compared on the same test split")
    higher_is_better: bool = True
    min_improvement: float = Field(
        0.0, ge=0, description="the improvement's interval must lie above this margin"
    )
    must_not_regress: dict[str, Literal["higher", "lower"]] = Field(
        default_factory=dict,
        description="metric → which way is better; may not be worse than the champion's",
    )
    confidence: float = Field(0.95, gt=0.5, lt=1, description="confidence of that interval")
    beat_baseline: bool = Field(
        True,
        description="a model must beat its kind's naive baseline (a classifier: the most "
        "frequent training class; a translator: copying the source) beyond doubt: the paired "
        "test's interval above 0, whatever the champion",
    )
    resamples: int = Field(2000, ge=100, le=100_000, description="paired bootstrap resamples")
    seed: int = Field(0, description="seed of the resampling: the same inputs, the same decision")
    limits: dict[str, tuple[float | None, float | None]] = Field(
        default_factory=dict,
        description="metric → [min, max] a challenger must meet whatever the champion scores",
    )


MODEL_NAME = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$")


def slug(text: str) -> str:
    """`text` as a registry and model-store name part: lowercase letters, digits and '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "data"


class RegistrySettings(_Strict):
    """Where the family's versions are registered."""

    model_name: str | None = Field(
        None,
        description="registered model; default dlops-<family> for the built-in data and "
        "dlops-<family>-<file or folder name> for the user's own",
    )

    @field_validator("model_name")
    @classmethod
    def _store_name(cls, value: str | None) -> str | None:
        if value is not None and not MODEL_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a model name: 1-63 lowercase letters, digits, '-', '_' or "
                "'.', starting and ending with a letter or digit"
            )
        return value


class ServingSettings(_Strict):
    """Limits the service enforces on requests."""

    max_batch: int = Field(1024, ge=1)


class FamilySettings(_Strict):
    """Everything one family's run needs; hashed into the `config_hash` tag."""

    family: str
    data: DataSettings = DataSettings()
    model: dict[str, Any] = Field(default_factory=dict, description="the family's model config")
    train: TrainSettings = TrainSettings()
    gate: GateSettings = GateSettings()
    registry: RegistrySettings = RegistrySettings()
    serving: ServingSettings = ServingSettings()

    @property
    def model_name(self) -> str:
        """The registered model: one per data set (the built-in one, or each user source)."""
        if self.registry.model_name:
            return self.registry.model_name
        path = self.data.source_path
        if self.data.source_kind == "builtin" or path is None:
            return default_model_name(self.family)
        return f"{default_model_name(self.family)}-{slug(path.stem)}"

    @property
    def data_key(self) -> str:
        """The model's own data folder and DVC output: `data/<data_key>`."""
        return model_data_key(self.model_name)

    def config_hash(self) -> str:
        """Short stable hash of the resolved config (sorted JSON).

        How data is read (`data.in_memory_mb`, `data.workers`) is left out: it changes no
        result, so it does not make a new model.
        """
        dumped = self.model_dump(mode="json", exclude={"data": {"in_memory_mb", "workers"}})
        blob = json.dumps(dumped, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def flat(self) -> dict[str, str]:
        """The resolved config as flat `a.b.c` keys, for MLflow params."""
        return {key: str(value) for key, value in _flatten(self.model_dump(mode="json")).items()}


EVENTS = (
    "promoted", "rejected", "validation_failed", "failed", "drift_detected", "serve_refused"
)  # fmt: skip
Event = Literal[
    "promoted", "rejected", "validation_failed", "failed", "drift_detected", "serve_refused"
]


class WebhookSettings(_Strict):
    """One webhook: a JSON POST per event; the URL in the config or in an environment variable."""

    url: str | None = Field(None, description="http(s) URL to POST to")
    url_env: str | None = Field(None, description="environment variable holding the URL (secret)")
    events: list[Event] = Field(default_factory=lambda: list(EVENTS), min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookSettings:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a webhook needs exactly one of url and url_env")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            # the URL itself is not repeated: for chat webhooks it is the secret
            raise ValueError("webhook url must start with http:// or https://")
        return self


class NotifySettings(_Strict):
    """Hooks called on promotion, rejection, validation failure and failure."""

    log: bool = Field(True, description="one log line per event")
    webhooks: list[WebhookSettings] = Field(default_factory=list)


class RetrySettings(_Strict):
    """Retries of transient failures (I/O, an unreachable server); never of bad data."""

    attempts: int = Field(3, ge=0, le=10, description="retries after the first try")
    delay_s: float = Field(2.0, ge=0, le=600, description="wait before the first retry")
    backoff: float = Field(2.0, ge=1, le=10, description="each later wait is this much longer")

    def delays(self) -> list[float]:
        """Seconds to wait before each retry."""
        return [self.delay_s * self.backoff**i for i in range(self.attempts)]


class DriftSettings(_Strict):
    """The drift loop: served inputs logged, compared with the champion's training data."""

    log_inputs: bool = Field(True, description="`dlops serve` logs the inputs it answers")
    sample_rate: float = Field(1.0, ge=0, le=1, description="share of requests logged")
    max_rows: int = Field(
        50_000, ge=100, description="rows kept per model version; the oldest files go first"
    )
    window: int = Field(1000, ge=10, description="the latest served rows compared")
    min_window: int = Field(
        200, ge=10, description="fewer served rows than this: no test, no trigger"
    )
    alpha: float = Field(
        0.01, gt=0, lt=0.5, description="drift when the corrected p-value is below this"
    )
    permutations: int = Field(
        500, ge=50, le=20_000, description="permutations of the embedding MMD test"
    )
    retrain: bool = Field(True, description="drift triggers a retrain through the gate")
    cooldown_hours: float = Field(
        24.0, ge=0, description="no second drift-triggered retrain of a model within this"
    )

    @model_validator(mode="after")
    def _window_holds_minimum(self) -> DriftSettings:
        if self.min_window > self.window:
            raise ValueError(f"min_window ({self.min_window}) exceeds window ({self.window})")
        if 1 / (self.permutations + 1) >= self.alpha:  # the smallest p-value they can give
            raise ValueError(
                f"permutations ({self.permutations}) cannot give a p-value below alpha "
                f"({self.alpha}): use at least {int(1 / self.alpha)}"
            )
        return self


class PipelineSettings(_Strict):
    """Pipeline-wide defaults (`configs/pipeline.yaml`)."""

    families: list[str] = Field(default_factory=lambda: ["mlp"], min_length=1)
    experiment: str = "dlops"
    schedule: str = Field("0 3 * * 1", description="cron of `dlops schedule` (default weekly)")
    retries: RetrySettings = RetrySettings()
    notify: NotifySettings = NotifySettings()
    drift: DriftSettings = DriftSettings()
    parallel: int | None = Field(
        None,
        ge=1,
        description="families trained at once on this machine, each in a process of its own "
        "with the cores' torch threads split between them; default: all of them",
    )


def default_model_name(family: str) -> str:
    """The registered model of a family's built-in data set."""
    return f"dlops-{family}"


def model_data_key(model_name: str) -> str:
    """`data/<key>` of a registered model: its name without the `dlops-` prefix."""
    return model_name.removeprefix("dlops-") or model_name


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise DlopsError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise DlopsError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise DlopsError(f"config file {path} must hold a mapping, got {type(loaded).__name__}")
    return loaded


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn `a.b=c` strings into a nested dict; values are read as YAML scalars."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip() or any(not part for part in key.split(".")):
            raise DlopsError(f"--set expects key=value with a dotted key, got {pair!r}")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        if raw.startswith(("csv:", "folder:")):
            value = raw  # a data source is a string even when YAML would read a mapping
        node = nested
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise DlopsError(f"--set {key}: conflicts with an earlier --set of {part}")
        node[leaf] = value
    return nested


def describe_errors(exc: ValidationError, where: str) -> str:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        problems.append(f"{loc}: {err['msg']}")
    return f"invalid config for {where}: " + "; ".join(problems)
