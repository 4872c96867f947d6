"""Typed model cards: each kind's card, cards of an earlier dlops, and clear refusals."""

import json

import pytest

from components.kinds.card import CARD, parse_card, read_card
from components.kinds.forecasting.inference import ForecastCard
from components.kinds.image_classification.inference import ImageCard
from components.kinds.tabular_classification.inference import TabularCard
from components.project import DlopsError

# A card as dlops wrote it before kinds had packages: `task`, no `schema`, flat kind fields.
SCHEMA_1_MLP = {
    "best_epoch": 46,
    "classes": [0, 1],
    "dims": {"n_classes": 2, "n_features": 3},
    "family": "mlp",
    "features": ["a", "b", "c"],
    "lineage": {
        "family": "mlp",
        "data_version": "abc.dir",
        "git_commit": "x",
        "config_hash": "y",
        "device": "cpu",
        "fingerprint": "f",
    },
    "model": {"dropout": 0.1, "hidden_sizes": [64, 32]},
    "run_id": "r1",
    "serving": {"max_batch": 1024},
    "split_digest": "d",
    "task": "tabular_classification",
}


def test_a_card_of_an_earlier_dlops_still_loads(tmp_path):
    (tmp_path / CARD).write_text(json.dumps(SCHEMA_1_MLP))
    card = read_card(tmp_path)
    assert isinstance(card, TabularCard)
    assert card.kind == "tabular_classification" and card.schema_ == 1
    assert card.features == ["a", "b", "c"] and card.classes == [0, 1]
    assert card.names == ["0", "1"]  # no class names then: the label values


def test_each_kind_gets_its_own_card_class():
    forecaster = parse_card(
        {
            "family": "rnn",
            "kind": "forecasting",
            "model": {},
            "dims": {"window": 4},
            "window": 4,
            "horizon": 2,
            "season_length": 4,
            "frequency": "D",
            "target": "y",
        }
    )
    assert isinstance(forecaster, ForecastCard) and forecaster.horizon == 2
    images = parse_card(
        {
            "family": "cnn",
            "kind": "image_classification",
            "model": {},
            "dims": {},
            "classes": ["cat", "dog"],
            "image_size": 8,
            "mode": "RGB",
        }
    )
    assert isinstance(images, ImageCard) and images.names == ["cat", "dog"]


def test_a_written_card_reads_back_equal(tmp_path):
    card = parse_card({**SCHEMA_1_MLP, "class_names": ["malignant", "benign"]})
    (tmp_path / CARD).write_text(card.to_json())
    again = read_card(tmp_path)
    assert again == card.model_copy(update={"schema_": again.schema_})
    assert again.names == ["malignant", "benign"]
    assert json.loads((tmp_path / CARD).read_text())["schema"] == 1  # kept as it was read


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": None}, "features"),
        ({"image_size": 8, "kind": "image_classification"}, "mode"),
        ({"kind": "speech"}, "unknown kind 'speech'"),
        ({"task": None}, "not a dlops model card"),
        ({"schema": 99}, "newer than this dlops reads"),
    ],
)
def test_a_broken_card_fails_with_one_line_naming_the_problem(tmp_path, change, message):
    raw = {k: v for k, v in {**SCHEMA_1_MLP, **change}.items() if v is not None}
    (tmp_path / CARD).write_text(json.dumps(raw))
    with pytest.raises(DlopsError, match=message) as error:
        read_card(tmp_path)
    assert "\n" not in str(error.value) and str(tmp_path) in str(error.value)


def test_a_missing_or_unreadable_card_is_named(tmp_path):
    with pytest.raises(DlopsError, match="no model card"):
        read_card(tmp_path)
    (tmp_path / CARD).write_text("{not json")
    with pytest.raises(DlopsError, match="not JSON"):
        read_card(tmp_path)
