"""The detector's target encoding, box decoding, augmentation and bootstrap mAP, exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from components.kinds.object_detection import fit, inference, metrics

CLASSES = ["a", "b", "c"]


def _random_case(rng, images=30):
    """True boxes and noisy detections (some right, some shifted, some spurious) per image."""
    truth, found = [], []
    for _ in range(images):
        k = int(rng.integers(0, 5))
        xy = rng.uniform(0, 60, (k, 2))
        wh = rng.uniform(5, 30, (k, 2))
        labels = rng.integers(0, len(CLASSES), k)
        true = np.column_stack([labels, xy, xy + wh])
        truth.append(true)
        rows = []
        for label, x1, y1, x2, y2 in true:
            if rng.random() < 0.8:
                jitter = rng.normal(0, rng.choice([0.5, 3.0]), 4)
                rows.append(
                    [
                        x1 + jitter[0],
                        y1 + jitter[1],
                        x2 + jitter[2],
                        y2 + jitter[3],
                        rng.uniform(0.2, 1),
                        label,
                    ]
                )
        for _ in range(int(rng.integers(0, 3))):
            x, y = rng.uniform(0, 60, 2)
            rows.append([x, y, x + 10, y + 10, rng.uniform(0, 0.6), rng.integers(0, 3)])
        found.append(np.asarray(rows, dtype=np.float64).reshape(-1, 6))
    return truth, found


def test_matched_map_equals_pycocotools():
    truth, found = _random_case(np.random.default_rng(0))
    evaluation = metrics.evaluate(truth, found, CLASSES)
    assert 0.05 < evaluation.stats[0] < 0.95
    assert metrics.matched(evaluation, truth).metric() == pytest.approx(evaluation.stats[0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_resample_equals_pycocotools_on_the_resampled_images(seed):
    """Weights 0, 1, 2, ...: the same mAP as pycocotools on the images drawn that often."""
    rng = np.random.default_rng(seed)
    truth, found = _random_case(rng)
    counts = rng.multinomial(len(truth), np.full(len(truth), 1 / len(truth)))
    drawn = np.repeat(np.arange(len(truth)), counts)
    expected = metrics.evaluate([truth[i] for i in drawn], [found[i] for i in drawn], CLASSES)
    ours = metrics.matched(metrics.evaluate(truth, found, CLASSES), truth)
    resampled = ours.resampled(counts[None, :].astype(float))
    assert resampled[0] == pytest.approx(expected.stats[0], abs=2e-3)  # ties broken apart


def test_no_detections_score_zero_on_every_resample():
    truth, _ = _random_case(np.random.default_rng(4), images=5)
    nothing = [np.zeros((0, 6))] * 5
    assert metrics.evaluate(truth, nothing, CLASSES) is None
    assert metrics.summary(None, CLASSES)["test_map"] == 0.0
    assert metrics.matched(None, truth).resampled(np.ones((3, 5))).tolist() == [0.0, 0.0, 0.0]


def test_targets_decode_back_to_their_boxes():
    boxes = np.array([[10.0, 12.0, 40.0, 30.0], [50.0, 50.0, 90.0, 94.0]])
    labels = np.array([2, 0])
    maps = fit.targets(boxes, labels, n_classes=3, size=96)
    assert maps.shape == (3 + 5, 24, 24)
    assert maps[-1].sum() == 2  # one centre cell per object
    heat = np.clip(maps[:3], 1e-6, 1 - 1e-6)
    logits = np.concatenate([np.log(heat / (1 - heat)), maps[3:7]])
    [rows] = inference.peaks(torch.as_tensor(logits[None]), top=2)
    rows = rows.numpy()
    order = np.argsort(rows[:, 5])
    np.testing.assert_allclose(rows[order, :4], boxes[[1, 0]], atol=1e-4)
    assert rows[order, 5].tolist() == [0.0, 2.0] and (rows[:, 4] > 0.99).all()


def test_augmentation_moves_boxes_with_the_pixels():
    from PIL import Image

    pixels = np.zeros((80, 120, 3), dtype=np.uint8)
    pixels[20:50, 30:70] = 255
    image = Image.fromarray(pixels)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        moved, boxes = fit.augment(image, np.array([[30.0, 20.0, 70.0, 50.0]]), generator)
        assert moved.size == image.size
        bright = np.argwhere(np.asarray(moved)[..., 0] > 127)
        (y1, x1), (y2, x2) = bright.min(axis=0), bright.max(axis=0) + 1
        np.testing.assert_allclose(boxes[0], [x1, y1, x2, y2], atol=2.0)


def test_detections_come_back_in_the_uploaded_images_pixels():
    class Fixed(torch.nn.Module):
        """One class, one peak at cell (6, 12) of a 24x24 grid; box 8x4 cells."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            out = torch.full((len(x), 5, 24, 24), -9.0)
            out[:, 0, 6, 12] = 9.0
            out[:, 1:3] = torch.log(torch.tensor([8.0, 4.0]))[:, None, None]
            out[:, 3:5] = 0.5
            return out + self.w

    x = np.zeros((2, 3, 96, 96), dtype=np.float32)
    rows = inference.detect_arrays(Fixed(), x, [(96, 96), (192, 48)], threshold=0.5)
    # centre (12.5, 6.5) cells x 4 = (50, 26) pixels of the 96 input, 32 x 16 pixels wide
    np.testing.assert_allclose(rows[0][0, :4], [34, 18, 66, 34], atol=1e-4)
    np.testing.assert_allclose(rows[1][0, :4], [68, 9, 132, 17], atol=1e-4)
