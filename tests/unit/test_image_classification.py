"""The image classification kind: user folders of any size and mode, split, score, predict."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from components.kinds import kind_for
from components.kinds.image_classification.inference import ImageCard
from components.models import build_model
from components.project import DlopsError
from components.settings import FamilySettings

CLASSES = ["circle", "cross", "square"]


def settings(**image):
    return FamilySettings(
        family="cnn",
        data={"target": "class", "image": {"size": 8, "mode": "L", **image}},
        model={"channels": [4], "kernel_size": 3, "dropout": 0.0, "shift": 1},
    )


def shape_image(kind: str, size: int, seed: int, mode: str) -> Image.Image:
    """A noisy drawing of `kind` in a `size` square, in PIL mode `mode`."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 40, (size, size)).astype(np.uint8)
    a, b = size // 4, size - size // 4
    if kind == "square":
        pixels[a:b, a:b] = 255
    elif kind == "cross":
        pixels[np.arange(a, b), np.arange(a, b)] = 255
        pixels[np.arange(a, b), np.arange(b - 1, a - 1, -1)] = 255
    else:
        yy, xx = np.mgrid[:size, :size]
        pixels[np.hypot(yy - size / 2, xx - size / 2) < size / 4] = 255
    return Image.fromarray(pixels, mode="L").convert(mode)


@pytest.fixture
def folder(tmp_path):
    """A user folder: three classes, mixed sizes (8 to 40 px), grayscale, RGB, RGBA and JPEG."""
    root = tmp_path / "images"
    for c, kind in enumerate(CLASSES):
        (root / kind).mkdir(parents=True)
        for i in range(10):
            mode = ("L", "RGB", "RGBA")[i % 3]
            image = shape_image(kind, 8 + 4 * i, seed=100 * c + i, mode=mode)
            suffix = ".jpg" if mode == "RGB" and i % 2 else ".png"
            image.save(root / kind / f"{i:02d}{suffix}")
    return root


def test_mixed_sizes_and_modes_load_to_the_configured_shape(folder):
    task = kind_for("cnn")
    split = task.load_split(folder, settings(size=12, mode="RGB"))
    assert split.x["train"].shape[1:] == (3, 12, 12)
    assert split.x["train"].dtype == np.float32
    assert all(v.min() >= 0 and v.max() <= 1 for v in split.x.values())
    assert sum(len(v) for v in split.x.values()) == 30
    assert split.dims == {"n_channels": 3, "image_size": 12, "n_classes": 3}
    assert split.info["classes"] == CLASSES
    assert (split.info["image_size"], split.info["mode"]) == (12, "RGB")


def test_split_is_stratified_and_seeded(folder):
    task = kind_for("cnn")
    first, again = task.load_split(folder, settings()), task.load_split(folder, settings())
    assert first.digest == again.digest
    assert sorted(np.bincount(first.y["test"]).tolist()) == [2, 2, 2]


def test_score_predict_example_and_plots(folder, tmp_path):
    task = kind_for("cnn")
    split = task.load_split(folder, settings())
    model = build_model("cnn", settings().model, split.dims).eval()
    card = task.make_card(settings(), split, best_epoch=1)

    metrics = task.score(model, card, split)
    assert set(metrics) == {
        "test_accuracy",
        "test_macro_f1",
        "test_recall_min",
        "test_majority_accuracy",
    }
    assert metrics["test_majority_accuracy"] == pytest.approx(1 / 3)  # three balanced classes
    assert 0 <= metrics["test_accuracy"] <= 1

    example = task.example(split)
    assert example.dtype == np.float32 and example.shape == (5, 1, 8, 8)
    frame = task.predict(model, card, example)
    assert list(frame.columns) == ["class", *(f"probability_{c}" for c in CLASSES)]
    assert np.allclose(frame.iloc[:, 1:].sum(axis=1), 1, atol=1e-5)
    # a plain nested list and (N, H, W) grayscale are accepted too
    assert task.predict(model, card, example.tolist()).equals(frame)
    assert task.predict(model, card, example[:, 0]).equals(frame)

    history = [{"train_loss": 1.0, "val_loss": 1.1}, {"train_loss": 0.5, "val_loss": 0.7}]
    paths = task.plots(model, card, split, history, tmp_path)
    assert [p.name for p in paths] == [
        "confusion_matrix.png",
        "loss_curve.png",
        "misclassified.png",
    ]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((2, 1, 6, 6), np.float32), "shape"),
        (np.zeros((2, 3, 8, 8), np.float32), "shape"),
        (np.full((1, 1, 8, 8), np.nan, np.float32), "finite"),
        (np.full((1, 1, 8, 8), 255, np.float32), "[0, 1]"),
        ([[["a"] * 8] * 8], "numeric"),
    ],
)
def test_predict_refuses_malformed_input(bad, message):
    task = kind_for("cnn")
    card = ImageCard(
        family="cnn",
        kind="image_classification",
        model={},
        dims={},
        classes=CLASSES,
        image_size=8,
        mode="L",
    )
    model = build_model("cnn", settings().model, {"n_channels": 1, "image_size": 8, "n_classes": 3})
    with pytest.raises(DlopsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        task.predict(model, card, bad)


def test_score_refuses_a_model_of_other_classes(folder):
    task = kind_for("cnn")
    split = task.load_split(folder, settings())
    model = build_model("cnn", settings().model, split.dims)
    with pytest.raises(DlopsError, match="classes"):
        card = task.make_card(settings(), split)
        task.score(model, card.model_copy(update={"classes": ["a", "b", "c"]}), split)


def test_builtin_digits_and_dataset_frame(tmp_path):
    task = kind_for("cnn")
    task.write_builtin("cnn", tmp_path)
    split = task.load_split(tmp_path, settings())
    assert sum(len(v) for v in split.x.values()) == 1797
    assert split.info["classes"] == [str(d) for d in range(10)]
    frame = task.dataset_frame(tmp_path)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1797
    assert set(frame["class"]) == set(split.info["classes"])


def test_misclassified_grid_with_nothing_wrong(tmp_path):
    from components.kinds.image_classification.plots import plot_misclassified

    y = np.array([0, 1])
    path = plot_misclassified(np.zeros((2, 3, 8, 8)), y, y, ["a", "b"], tmp_path / "grid.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_an_oversized_image_is_described_not_decoded(tmp_path, monkeypatch):
    from components.kinds.image_classification import data, validation

    monkeypatch.setattr(data, "MAX_PIXELS", 20 * 20)
    (tmp_path / "big").mkdir()
    Image.new("L", (30, 30)).save(tmp_path / "big" / "a.png")
    Image.new("L", (10, 10)).save(tmp_path / "big" / "b.png")
    rows = data.manifest(tmp_path).set_index("path")
    assert rows.loc["big/a.png", "pixels"] == 900 and pd.isna(rows.loc["big/a.png", "checksum"])
    assert rows.loc["big/b.png", "pixels"] == 100 and rows.loc["big/b.png", "readable"]
    rules = validation.build_expectations(settings())["files"]
    assert any(getattr(rule, "column", None) == "pixels" for rule in rules)
