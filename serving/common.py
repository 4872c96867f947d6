"""What every family's service shares: the model tag, loading by our code, lineage, errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse


def model_tag(family: str) -> str:
    """The BentoML model to serve: `DLOPS_MODEL_TAG` (set by `dlops serve` and the Bento)."""
    return os.environ.get("DLOPS_MODEL_TAG", f"dlops-{family}:latest")


def load(bento_model) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Rebuild the network from the stored weights + card; returns (model, card, lineage)."""
    from components.models.artifact import load_model

    model, card = load_model(Path(bento_model.path))
    meta = dict(bento_model.info.metadata)
    lineage = {
        key: meta.get(key)
        for key in ("model_name", "model_version", "data_version", "git_commit", "config_hash")
    }
    lineage["bento_model"] = str(bento_model.tag)
    return model, card, {**lineage, "max_batch": meta.get("max_batch")}


def bad_request(message: str, status: int = 422) -> JSONResponse:
    """A 4xx with a JSON body naming what is wrong."""
    return JSONResponse({"error": message}, status_code=status)
