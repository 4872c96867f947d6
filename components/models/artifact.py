"""A model on disk: `weights.safetensors` + `model.json`; rebuilt by our code, never unpickled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WEIGHTS = "weights.safetensors"
CARD = "model.json"


def save_model(model, card: dict[str, Any], folder: Path) -> Path:
    """Write the model's weights and its card (family, config, dims, labels, lineage)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    (folder / CARD).write_text(json.dumps(card, indent=2, sort_keys=True))
    return folder


def read_card(folder: Path) -> dict[str, Any]:
    """The model card saved beside the weights."""
    return json.loads((Path(folder) / CARD).read_text())


def load_model(folder: Path, device: str = "cpu"):
    """Rebuild the network from its card and load the weights; returns (model, card)."""
    from safetensors.torch import load_file

    from components.models import build_model

    card = read_card(folder)
    model = build_model(card["family"], card["model"], card["dims"])
    model.load_state_dict(load_file(str(Path(folder) / WEIGHTS), device=device))
    return model.eval(), card
