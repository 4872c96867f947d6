"""The image generation kind: Fréchet math, entropy, classes, request handling, scoring."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from components.kinds.base import Split
from components.kinds.image_generation import metrics as generation
from components.kinds.image_generation.inference import (
    ANY,
    GenerationCard,
    class_index,
    class_values,
)
from components.kinds.image_generation.kind import ImageGeneration
from components.kinds.image_generation.metrics import class_entropy, save_grid
from components.models import build_model
from components.runtime.datasets import ArrayDataset
from components.runtime.distances import frechet_distance

DIMS = {"n_classes": 10, "channels": 1, "image_size": 8}
CLASSES = [str(i) for i in range(10)]


def info(conditional=True):
    return {"classes": CLASSES, "conditional": conditional, "image_size": 8, "mode": "L"}


def card(conditional=True):
    return GenerationCard(
        family="gan",
        kind="image_generation",
        model={},
        dims=DIMS,
        latent_dim=32,
        **info(conditional),
    )


def gan(conditional=True):
    torch.manual_seed(0)
    return build_model("gan", {"conditional": conditional}, DIMS)


def test_frechet_distance_of_identical_sets_is_zero():
    a = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)


def test_frechet_distance_of_shifted_and_scaled_gaussians():
    a = np.random.default_rng(1).normal(size=(2000, 4))
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    # Same covariance, shifted mean: d² = |shift|²
    assert frechet_distance(a, a + shift) == pytest.approx((shift**2).sum(), rel=1e-6)
    # b = 2a + shift: Σb = 4 Σa, so Tr(Σ + 4Σ - 2·2Σ) = Tr(Σ); μb - μa = μa + shift
    expected = ((a.mean(axis=0) + shift) ** 2).sum() + np.trace(np.cov(a, rowvar=False))
    assert frechet_distance(a, 2 * a + shift) == pytest.approx(expected, rel=1e-6)
    # Population values: N(0, I) vs N(μ, I) in 4 dimensions ≈ |μ|²
    b = np.random.default_rng(2).normal(size=(20000, 4)) + shift
    assert frechet_distance(np.random.default_rng(3).normal(size=(20000, 4)), b) == pytest.approx(
        (shift**2).sum(), abs=0.05
    )


def test_entropy_of_uniform_histogram_is_ln_classes():
    assert class_entropy(np.repeat(np.arange(10), 7), 10) == pytest.approx(math.log(10))
    assert class_entropy(np.zeros(50, dtype=int), 10) == 0
    assert 0 < class_entropy(np.array([0, 0, 0, 1]), 10) < math.log(2)


def test_classes_are_named_by_integer_names_or_by_index():
    assert class_values(CLASSES) == list(range(10))
    assert class_values(["3", "7"]) == [3, 7]
    assert class_values(["cat", "dog"]) == [0, 1]
    assert class_index(["3", "7"], 7) == 1
    assert class_index(["3", "7"], ANY) is None
    with pytest.raises(ValueError, match="not one of the model's classes"):
        class_index(["3", "7"], 0)


def test_predict_is_deterministic_one_row_per_image():
    task, model = ImageGeneration(), gan()
    request = pd.DataFrame({"n": [2, 3], "seed": [0, 0], "digit": [4, ANY]})
    out = task.predict(model, card(), request)
    assert len(out) == 5 and list(out.columns[:2]) == ["input_row", "class"]
    assert out.shape[1] == 2 + 64
    assert out["input_row"].tolist() == [0, 0, 1, 1, 1]
    assert out["class"].tolist()[:2] == ["4", "4"]
    pixels = out.filter(like="pixel_").to_numpy()
    assert pixels.min() >= 0 and pixels.max() <= 1
    pd.testing.assert_frame_equal(out, task.predict(model, card(), request))


def test_unconditional_model_refuses_a_chosen_class():
    task = ImageGeneration()
    with pytest.raises(ValueError, match="unconditional"):
        task.predict(gan(False), card(False), pd.DataFrame({"n": [1], "seed": [0], "digit": [3]}))
    out = task.predict(
        gan(False), card(False), pd.DataFrame({"n": [2], "seed": [0], "digit": [-1]})
    )
    assert len(out) == 2


def tiny_split():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 6)
    # Each class a bright pixel in its own place, plus noise: learnable in a few steps.
    x = rng.uniform(0, 0.2, size=(60, 1, 8, 8)).astype(np.float32)
    x[np.arange(60), 0, y % 8, y // 8 + 2] = 1.0
    parts = {"train": slice(0, 60), "validation": slice(0, 30), "test": slice(30, 60)}
    return Split(
        data={k: ArrayDataset(x[v], y[v]) for k, v in parts.items()},
        dims=DIMS,
        info={**info(), "latent_dim": 32},
        digest="tiny",
    )


def test_feature_classifier_is_cached_and_deterministic(monkeypatch):
    monkeypatch.setattr(generation, "CLASSIFIER_EPOCHS", 2)
    monkeypatch.setattr(generation, "_CLASSIFIERS", {})
    split = tiny_split()
    state = torch.get_rng_state()
    first = generation.feature_classifier(split)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left as it was
    assert generation.feature_classifier(split) is first
    generation._CLASSIFIERS.clear()
    again = generation.feature_classifier(split)
    assert again is not first
    assert all(
        torch.equal(a, b) for a, b in zip(first.parameters(), again.parameters(), strict=True)
    )


def test_score_is_deterministic_and_names_test_metrics(monkeypatch):
    monkeypatch.setattr(generation, "CLASSIFIER_EPOCHS", 2)
    monkeypatch.setattr(generation, "EVAL_SAMPLES", 100)
    monkeypatch.setattr(generation, "_CLASSIFIERS", {})
    split, task, model = tiny_split(), ImageGeneration(), gan()
    scores = task.score(model, card(), split)
    assert set(scores) >= {"test_frechet_distance", "test_class_entropy"}
    assert 0 <= scores["test_class_entropy"] <= math.log(10) + 1e-9
    assert scores == task.score(model, card(), split)


def test_sample_grid_is_a_png_of_the_tiled_size(tmp_path):
    from PIL import Image

    path = save_grid(np.random.default_rng(0).uniform(size=(20, 1, 8, 8)), 10, tmp_path / "g.png")
    with Image.open(path) as image:
        assert image.size == ((10 * 9 + 1) * 4, (2 * 9 + 1) * 4)
