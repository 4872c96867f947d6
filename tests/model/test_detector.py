"""Behavioural tests of the detector: its output grid, and learning to find (and tell apart)
single squares on noise from a few dozen images."""

import numpy as np
import torch

from components.kinds.object_detection import fit, inference, metrics
from components.models import build_model
from components.runtime.trainer import fit as train
from components.settings import TrainSettings

CONFIG = {"widths": [8, 8, 16, 16], "head": 16}


def test_the_output_grid_is_a_quarter_of_the_input():
    net = build_model("detector", CONFIG, {"n_classes": 3}).eval()
    for size in (32, 64, 96):
        assert net(torch.zeros(2, 3, size, size)).shape == (2, 3 + 4, size // 4, size // 4)


def squares(n: int, seed: int, size: int = 32):
    """Images of noise with one bright square each (class 0) or one dark one (class 1)."""
    rng = np.random.default_rng(seed)
    images, boxes, labels = [], [], []
    for _ in range(n):
        image = rng.uniform(0.3, 0.7, (3, size, size)).astype(np.float32)
        side = int(rng.integers(6, 14))
        x, y = (int(v) for v in rng.integers(0, size - side, 2))
        label = int(rng.integers(0, 2))
        image[:, y : y + side, x : x + side] = 1.0 if label == 0 else 0.0
        images.append(image)
        boxes.append(np.array([[x, y, x + side, y + side]], dtype=np.float64))
        labels.append(np.array([label]))
    return np.stack(images), boxes, labels


def test_a_small_detector_learns_to_find_squares():
    x, boxes, labels = squares(96, seed=0)
    y = np.stack([fit.targets(b, lab, 2, 32) for b, lab in zip(boxes, labels, strict=True)])
    net = build_model("detector", CONFIG, {"n_classes": 2})
    settings = TrainSettings(epochs=40, batch_size=16, learning_rate=0.01, progress=False,
                             patience=40, lr_schedule="cosine")  # fmt: skip
    train(net, (x[:80], y[:80]), (x[80:], y[80:]), settings, torch.device("cpu"),
          loss_fn=fit.detection_loss, classification=False)  # fmt: skip
    test_x, test_boxes, test_labels = squares(40, seed=1)
    found = inference.detect_arrays(net, test_x, [(32, 32)] * 40, threshold=0.01)
    truth = [np.column_stack([lab, b]) for b, lab in zip(test_boxes, test_labels, strict=True)]
    scores = metrics.summary(metrics.evaluate(truth, found, ["bright", "dark"]), ["bright", "dark"])
    assert scores["test_ap50"] > 0.8, scores
