"""COCO's detection metrics with pycocotools, and mAP on bootstrap resamples of the test images.

pycocotools matches each image's detections to its boxes (`COCOeval.evaluate`) and turns the
matches into mAP@[.5:.95], AP50, AP75 and per-class AP. A resample of the test images changes
only how often each image's matches count, never the matches themselves: `MatchedDetections`
keeps pycocotools' per-image matches and recomputes COCO's accumulation (101-point
interpolated precision, every IoU threshold and class) with each image weighted by how often
the resample drew it. Unweighted, it equals pycocotools' own mAP (a test says so).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np

MAX_DETS = 100  # per image, COCO's default


def _coco(truth: list[np.ndarray], classes: list[str]):
    """A pycocotools COCO object of the true boxes: image i has id i + 1, class c id c + 1."""
    from pycocotools.coco import COCO

    images, annotations = [], []
    for i, rows in enumerate(truth):
        images.append({"id": i + 1})
        for label, x1, y1, x2, y2 in np.asarray(rows, dtype=np.float64).reshape(-1, 5):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                "category_id": int(label) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})  # fmt: skip
    categories = [{"id": c + 1, "name": name} for c, name in enumerate(classes)]
    gt = COCO()
    gt.dataset = {"images": images, "annotations": annotations, "categories": categories}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def evaluate(truth: list[np.ndarray], found: list[np.ndarray], classes: list[str]):
    """The COCO evaluation (pycocotools) of detections `found` against `truth`, or None without any.

    `truth[i]` holds image i's (label, x1, y1, x2, y2) rows, `found[i]` its (x1, y1, x2, y2,
    score, label) rows.
    """
    from pycocotools.cocoeval import COCOeval

    results = [
        {"image_id": i + 1, "category_id": int(row[5]) + 1, "score": float(row[4]),
         "bbox": [float(row[0]), float(row[1]), float(row[2] - row[0]), float(row[3] - row[1])]}
        for i, rows in enumerate(found) for row in rows
    ]  # fmt: skip
    if not results:
        return None
    gt = _coco(truth, classes)
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        evaluation = COCOeval(gt, dt, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def summary(evaluation, classes: list[str]) -> dict[str, float]:
    """mAP@[.5:.95], AP50, AP75 and each class's AP (`test_ap_<class>`); 0 without detections."""
    if evaluation is None:
        return {"test_map": 0.0, "test_ap50": 0.0, "test_ap75": 0.0,
                **{f"test_ap_{name}": 0.0 for name in classes}}  # fmt: skip
    metrics = {
        "test_map": float(evaluation.stats[0]),
        "test_ap50": float(evaluation.stats[1]),
        "test_ap75": float(evaluation.stats[2]),
    }
    precision = evaluation.eval["precision"]  # (T, R, K, areas, max dets)
    for k, name in enumerate(classes):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        metrics[f"test_ap_{name}"] = float(values.mean()) if values.size else 0.0
    return {k: max(0.0, v) for k, v in metrics.items()}  # pycocotools says -1 for "no boxes"


def pr_curves(evaluation, classes: list[str]) -> dict[str, np.ndarray]:
    """Each class's interpolated precision at the 101 recall points, at IoU 0.5."""
    if evaluation is None:
        return {}
    precision = evaluation.eval["precision"][0, :, :, 0, -1]  # (R, K) at IoU 0.5
    return {name: precision[:, k] for k, name in enumerate(classes) if (precision[:, k] > -1).all()}


@dataclass(frozen=True)
class _ClassMatches:
    """One class's detections over all images, best first, and its true boxes per image."""

    image: np.ndarray  # (D,) the image of each detection
    true_positive: np.ndarray  # (T, D) matched at each IoU threshold (and not ignored)
    counted: np.ndarray  # (T, D) not ignored (matched to no crowd box, within the area range)
    boxes: np.ndarray  # (I,) the class's true (not ignored) boxes in each image


@dataclass(frozen=True)
class MatchedDetections:
    """One model's detections matched on the test images; its mAP on weighted resamples.

    COCO's AP at one IoU threshold and class: the envelope of precision (its maximum at this or
    any later detection, best score first) read at 101 recall points, each at the first
    detection whose recall reaches it. Recall rises only at true positives, and a false
    positive's precision is below the true positive's before it, so only the true positives'
    cumulative counts are needed: per resample, the weighted counts of detections (all, then
    true) up to each true positive.
    """

    classes: tuple[_ClassMatches, ...]
    images: int
    thresholds: int  # IoU thresholds
    recall_points: np.ndarray
    correct = None
    name: str = "the baseline"

    def __len__(self) -> int:
        return self.images

    def metric(self) -> float:
        return float(self.resampled(np.ones((1, self.images)))[0])

    def resampled(self, weights: np.ndarray) -> np.ndarray:
        """mAP@[.5:.95] per resample; `weights` (R, I) counts how often each image is drawn."""
        total = np.zeros(len(weights))
        cells = np.zeros(len(weights))  # the (threshold, recall point, class) cells averaged
        for matches in self.classes:
            positives = weights @ matches.boxes  # (R,)
            counted = positives > 0  # a class without boxes in a resample is left out
            w = weights[:, matches.image]  # (R, D)
            detected, before = None, None
            for t in range(self.thresholds):
                if before is None or not np.array_equal(matches.counted[t], before):
                    before = matches.counted[t]
                    detected = np.cumsum(w * before, axis=1)  # (R, D) detections so far
                hits = np.flatnonzero(matches.true_positive[t])
                if hits.size == 0:
                    continue
                tp = np.cumsum(w[:, hits], axis=1)  # (R, J) at each true positive
                recall = tp / np.maximum(positives, 1e-12)[:, None]
                precision = tp / np.maximum(detected[:, hits], np.spacing(1))
                envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
                # true positive j serves the recall points above the recall before it, up to its own
                reached = np.searchsorted(self.recall_points, recall, side="right")  # (R, J)
                served = np.diff(reached, axis=1, prepend=0)
                total += np.where(counted, (envelope * served).sum(axis=1), 0.0)
            cells += counted * len(self.recall_points) * self.thresholds
        return np.where(cells > 0, total / np.maximum(cells, 1), 0.0)


def matched(evaluation, truth: list[np.ndarray], name: str = "") -> MatchedDetections:
    """The evaluation's per-image matches (all areas, 100 detections) as `MatchedDetections`."""
    images = len(truth)
    if evaluation is None:  # nothing detected: every resample scores 0
        return MatchedDetections((), images, 10, np.linspace(0, 1, 101), name=name)
    params = evaluation.params
    thresholds = len(params.iouThrs)
    areas = len(params.areaRng)
    per_class = []
    for k in range(len(params.catIds)):
        entries = [evaluation.evalImgs[k * areas * images + i] for i in range(images)]
        boxes = np.zeros(images)
        scores, image, tps, kept = [], [], [], []
        for i, entry in enumerate(entries):
            if entry is None:
                continue
            boxes[i] = np.sum(np.asarray(entry["gtIgnore"]) == 0)
            d = min(len(entry["dtScores"]), MAX_DETS)
            if d == 0:
                continue
            match = np.asarray(entry["dtMatches"])[:, :d] > 0
            ignore = np.asarray(entry["dtIgnore"])[:, :d].astype(bool)
            scores.append(np.asarray(entry["dtScores"][:d]))
            image.append(np.full(d, i))
            tps.append(match & ~ignore)
            kept.append(~ignore)
        if scores:
            order = np.argsort(-np.concatenate(scores), kind="mergesort")
            per_class.append(_ClassMatches(
                np.concatenate(image)[order], np.concatenate(tps, axis=1)[:, order],
                np.concatenate(kept, axis=1)[:, order], boxes,
            ))  # fmt: skip
        else:
            nothing = np.zeros((thresholds, 0), dtype=bool)
            per_class.append(_ClassMatches(np.zeros(0, dtype=int), nothing, nothing, boxes))
    return MatchedDetections(tuple(per_class), images, thresholds,
                             np.asarray(params.recThrs), name=name)  # fmt: skip
