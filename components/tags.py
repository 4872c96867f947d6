"""Names of the MLflow tags dlops writes, and the lineage every run, version and answer carries.

One module, so that a tag is spelled once: the steps write these names, `dlops status` and the
retrain check search by them, the services answer with the lineage keys.
"""

from __future__ import annotations

# Lineage: which data, code, config and device produced a model. The training run, its
# registered version, the BentoML model and every served response carry all five.
FAMILY = "family"
DATA_VERSION = "data_version"
GIT_COMMIT = "git_commit"
CONFIG_HASH = "config_hash"
DEVICE = "device"
LINEAGE_KEYS = (FAMILY, DATA_VERSION, GIT_COMMIT, CONFIG_HASH, DEVICE)

# The registered model a training run trains (one per data set; several per family).
MODEL = "dlops.model"
# On a registered model: when it became its family's default (nanoseconds since the epoch). The
# family's default is its model with the latest value: kept on the tracking server, so every
# checkout and worker pointed at it agrees.
DEFAULT_SINCE = "dlops.default_since"

# What a run is and how it ended.
RUN_KIND = "dlops.kind"  # pipeline | training | skipped | promotion
OUTCOME = "dlops.outcome"  # "ok" once the family's whole chain succeeded
ENDED = "dlops.ended"  # why a run was ended by someone else than its process
HOST = "dlops.host"
PID = "dlops.pid"
PID_STARTED = "dlops.pid_started"
HEARTBEAT = "dlops.heartbeat"  # unix time of the run's latest sign of life (another host reads)
FLOW_RUN = "dlops.flow_run"  # the Prefect flow run that owns the run
PARENT_RUN = "mlflow.parentRunId"
EXPERIMENT_KIND = "mlflow.experimentKind"
MODEL_URI = "model_uri"
VERDICT = "dlops.verdict"  # the test metrics beside the kind's baselines, in words
ONLY_IF_CHANGED = "only_if_changed"

# Retraining: fingerprints, skips and resumes.
FINGERPRINT = "fingerprint"  # and fingerprint.data / .config / .code
SKIPPED = "skipped"
LAST_RUN = "last_run"
RESUMED_FROM_RUN = "resumed_from_run"
RESUMED_FROM_EPOCH = "resumed_from_epoch"

# The MLflow experiment of the promotion ledger: one run per decision.
LEDGER_EXPERIMENT = "promotions"
# A ledger entry's state: pending (written, its alias move not yet confirmed), done, or void
# (its process died before the alias moved: kept, never counted in the chain of champions)
LEDGER_STATE = "dlops.ledger_state"

# The gate's decision on a registered version.
GATE_DECISION = "gate.decision"
GATE_METRIC = "gate.metric"

# The drift loop.
DRIFT_EXPERIMENT = "drift"  # one run per drift check
CAUSE = "dlops.cause"  # on a training run: `drift:<run id>` of the check that caused it
DRIFT_STATUS = "drift.status"  # drift | no drift | too few rows
DRIFT_TRIGGERED = "drift.triggered"  # "true" when the check triggered a retrain
MODEL_VERSION = "model_version"


def lineage_tags(
    family: str, data_version: str, commit: str, config_hash: str, device: str
) -> dict[str, str]:
    """The five tags every training run, registered version and served response carries."""
    return {
        FAMILY: family,
        DATA_VERSION: data_version,
        GIT_COMMIT: commit,
        CONFIG_HASH: config_hash,
        DEVICE: device,
    }
