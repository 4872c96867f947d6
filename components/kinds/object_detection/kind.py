"""The object detection kind: images → boxes with labels and scores, judged by COCO mAP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds import memo
from components.kinds.base import Kind, Split, sample_rows
from components.kinds.object_detection import data, inference, metrics, validation
from components.kinds.object_detection import fit as training
from components.kinds.object_detection.images import open_image, to_array
from components.project import DlopsError
from components.runtime.datasets import default_workers
from components.runtime.splits import split_digest, split_indices

SCORE_FLOOR = 0.01  # scoring keeps every detection above this: COCO's AP rewards recall
BATCH = 32  # test images read and detected at a time: never the whole part in memory
BASELINE = "a box prior (each class's average training box, at the image's centre)"


def _per_image(labels: data.Annotations) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """Files, boxes (k, 4) and class indices (k,) per image, in the image table's order."""
    index = {name: i for i, name in enumerate(labels.classes)}
    grouped = {file: rows for file, rows in labels.boxes.groupby("file", sort=False)}
    files, boxes, classes = [], [], []
    for file in labels.images["file"]:
        rows = grouped.get(file)
        files.append(file)
        if rows is None:
            boxes.append(np.zeros((0, 4)))
            classes.append(np.zeros(0, dtype=np.int64))
        else:
            boxes.append(rows[["x1", "y1", "x2", "y2"]].to_numpy(np.float64))
            classes.append(rows["label"].map(index).to_numpy(np.int64))
    return files, boxes, classes


def detect_files(model, card, files: list[str], threshold: float = SCORE_FLOOR) -> list:
    """Detections (x1, y1, x2, y2, score, class rows) of image files, `BATCH` at a time."""
    found: list[np.ndarray] = []
    for start in range(0, len(files), BATCH):
        images = [open_image(Path(f)) for f in files[start : start + BATCH]]
        x = np.stack([to_array(image, card.image_size) for image in images])
        found += inference.detect_arrays(model, x, [im.size for im in images], threshold)
    return found


def prior_boxes(split: Split, files: list[str]) -> list[np.ndarray]:
    """The baseline's detections: each class's average training box, scored by its frequency.

    What a detector that ignores the pixels can do: the typical box of each class, where that
    class's objects are on average (in shares of the image's width and height).
    """
    train = split.data["train"]
    shares = [
        np.column_stack([rows[:, :1], rows[:, 1:] / np.asarray(size * 2, dtype=np.float64)])
        for rows, size in zip(train.arrays()[1], train.sizes, strict=True)
        if len(rows)
    ]
    rows = np.concatenate(shares or [np.zeros((0, 5))])
    prior = []
    for label in np.unique(rows[:, 0]):
        mine = rows[rows[:, 0] == label, 1:]
        w, h = (mine[:, 2] - mine[:, 0]).mean(), (mine[:, 3] - mine[:, 1]).mean()
        cx, cy = (mine[:, 0] + mine[:, 2]).mean() / 2, (mine[:, 1] + mine[:, 3]).mean() / 2
        prior.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, len(mine) / len(rows), label])
    prior = np.asarray(prior, dtype=np.float64).reshape(-1, 6)
    out = []
    for file in files:
        width, height = data.image_size(Path(file))
        out.append(prior * [width, height, width, height, 1, 1])
    return out


class ObjectDetection(Kind):
    """Images with boxes (COCO or YOLO labels) → a detector of those classes."""

    name = inference.KIND
    sources = ("folder",)
    card = inference.DetectionCard
    validation = validation

    def write_builtin(self, family: str, folder: Path) -> None:
        data.write_builtin(folder)

    def load_split(self, folder: Path, settings) -> Split:
        labels = data.read(folder)
        files, boxes, classes = _per_image(labels)
        if len(labels.classes) < 1:
            raise DlopsError(f"{settings.family}: the labels name no classes")
        parts = split_indices(np.zeros(len(files), dtype=np.int64), settings.data.split)
        detection = settings.data.detection
        paths = [str(folder / f) for f in files]
        sizes = [data.image_size(Path(p)) for p in paths]  # headers only
        datasets = {
            part: training.Scenes(
                [paths[i] for i in rows],
                [boxes[i] for i in rows],
                [classes[i] for i in rows],
                len(labels.classes),
                detection.image_size,
                augment=part == "train",
                sizes=[sizes[i] for i in rows],
            )  # fmt: skip
            for part, rows in parts.items()
        }
        info = {
            "classes": list(labels.classes),
            "image_size": detection.image_size,
            "score_threshold": float(settings.model.get("score_threshold", 0.3)),
            "max_file_bytes": detection.max_file_bytes,
        }
        workers = settings.data.workers if settings.data.workers >= 0 else default_workers()
        return Split(
            data=datasets,
            dims={"n_classes": len(labels.classes)},
            info=info,
            digest=split_digest(parts),
            params={"data.format": labels.format, "data.boxes": str(len(labels.boxes))},
            workers=workers,
        )

    def fit(self, model, split: Split, settings, device, workdir: Path, checkpoints=None):
        return training.fit(model, split, settings, device, checkpoints)

    def _test(self, model, card, split: Split) -> tuple[list[str], list[np.ndarray], list]:
        files, truth = split.arrays("test")
        files = list(files)
        found = memo.outputs(model, card, files, lambda: detect_files(model, card, files))
        return files, list(truth), found

    def score(self, model, card, split: Split) -> dict[str, float]:
        if card.classes != split.info["classes"]:
            raise DlopsError("model was trained on other classes than the current data")
        files, truth, found = self._test(model, card, split)
        scores = metrics.summary(metrics.evaluate(truth, found, card.classes), card.classes)
        prior = metrics.evaluate(truth, prior_boxes(split, files), card.classes)
        scores["test_prior_map"] = metrics.summary(prior, card.classes)["test_map"]
        return scores

    def paired_outcomes(self, model, card, split: Split, metric: str):
        """The test images' matches: the gate recomputes mAP on each bootstrap resample."""
        if metric != "test_map":
            return None
        _, truth, found = self._test(model, card, split)
        return metrics.matched(metrics.evaluate(truth, found, card.classes), truth)

    def baseline_outcomes(self, split: Split, metric: str):
        if metric != "test_map":
            return None
        files, truth = split.arrays("test")
        classes = split.info["classes"]
        found = prior_boxes(split, list(files))
        return metrics.matched(metrics.evaluate(list(truth), found, classes), list(truth),
                               name=BASELINE)  # fmt: skip

    def plots(self, model, card, split: Split, history: list, folder: Path) -> list[Path]:
        from components.kinds.object_detection.plots import plot_detections, plot_pr_curves
        from components.runtime.plots import plot_loss_curve

        files, truth, found = self._test(model, card, split)
        evaluation = metrics.evaluate(truth, found, card.classes)
        return [
            plot_loss_curve(history, card.best_epoch, folder / "loss_curve.png"),
            plot_detections(
                files[:6], truth[:6], found[:6], card, folder / "detections.png"
            ),  # fmt: skip
            plot_pr_curves(metrics.pr_curves(evaluation, card.classes), folder / "pr_curve.png"),
        ]

    def example(self, split: Split) -> pd.DataFrame:
        file = split.arrays("test")[0][0]
        return pd.DataFrame({"image": [Path(file).read_bytes()]})

    def predict(self, model, card, model_input: pd.DataFrame) -> pd.DataFrame:
        return inference.predict_frame(model, card, model_input)

    def dataset_frame(self, folder: Path) -> pd.DataFrame:
        labels = data.read(folder)
        counts = labels.boxes["file"].value_counts()
        return labels.images.assign(boxes=[int(counts.get(f, 0)) for f in labels.images["file"]])

    def verdict(self, metrics: dict[str, float]) -> str | None:
        if "test_map" not in metrics:
            return None
        said = (f"mAP@[.5:.95] {metrics['test_map']:.3f} (AP50 {metrics.get('test_ap50', 0):.3f}, "
                f"AP75 {metrics.get('test_ap75', 0):.3f})")  # fmt: skip
        if "test_prior_map" in metrics:
            said += f"; {BASELINE}: {metrics['test_prior_map']:.3f}"
            if metrics["test_prior_map"] >= metrics["test_map"]:
                said += ": the model does not beat the box prior"
        return said

    drift_space = "the champion's backbone features of 32x32 thumbnails"

    def drift_reference(self, model, card, split: Split, settings, limit: int):
        """Training images, found by the champion at its own threshold, as the service logs."""
        files = split.data["train"].files
        rows = sample_rows(len(files), limit)
        columns: dict[str, list] = {}
        for start in range(0, len(rows), 64):  # a batch of decoded images at a time
            images = [open_image(Path(files[i])) for i in rows[start : start + 64]]
            found = inference.detect(model, card, images)
            for name, values in inference.logged(card, images, found, card.score_threshold).items():
                columns.setdefault(name, []).extend(values)
        return columns

    def drift_features(self, model, card, frame: pd.DataFrame) -> pd.DataFrame:
        """Image size and brightness; detections per image and their mean score."""
        return pd.DataFrame(
            {
                "width": frame["width"].to_numpy(dtype=np.float64),
                "height": frame["height"].to_numpy(dtype=np.float64),
                "brightness": inference.thumbnails(frame).mean(axis=(1, 2, 3)),
                "detections": frame["detections"].to_numpy(dtype=np.float64),
                "mean_score": frame["mean_score"].to_numpy(dtype=np.float64),
            }
        )

    def drift_embeddings(self, model, card, frame: pd.DataFrame) -> np.ndarray:
        return inference.embeddings(model, card, frame)
