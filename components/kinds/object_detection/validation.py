"""The detection suite: Great Expectations on a per-image and a per-box manifest.

Images: decodable, within the size limits, as large as the labels declare, each file and each
picture once (the same picture twice could land in training and test). Boxes: on a listed
image, of a known class, of positive area, inside the image, not below the configured size.
Images without boxes are counted (and allowed up to a configured share).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from components.kinds.base import Suite
from components.kinds.object_detection.data import LabelError, read
from components.kinds.object_detection.images import MAX_PIXELS
from components.kinds.profile import numeric_profile, widened
from components.settings import FamilySettings

EDGE = 0.5  # a box may reach half a pixel past the image's edge (rounding in the labels)
IMAGE_COLUMNS = ["file", "readable", "width", "height", "size_matches", "bytes", "checksum",
                 "boxes", "has_boxes"]  # fmt: skip
BOX_COLUMNS = ["file", "label", "on_image", "known", "x1", "y1", "x2", "y2", "width",
               "height", "positive", "inside", "tiny"]  # fmt: skip


def _image_facts(folder: Path, file: str, max_bytes: int) -> dict:
    """Decodability, size, bytes and a checksum of the decoded pixels of one listed image."""
    from PIL import Image

    path = folder / file
    facts = {"readable": False, "width": None, "height": None, "bytes": 0, "checksum": None}
    if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
        return facts  # a file DVC does not version is not training data
    facts["bytes"] = path.stat().st_size
    if facts["bytes"] > max_bytes:
        return facts  # not read: too large (its own rule says so)
    try:
        with Image.open(path) as image:
            facts.update(width=image.width, height=image.height)
            if image.width * image.height > MAX_PIXELS:
                return facts
            image.load()  # decodes fully: truncated files fail here
            pixels = np.asarray(image.convert("RGB"))
    except Exception:  # any decoding failure is a finding, not a crash
        return facts
    facts.update(readable=True, checksum=hashlib.md5(pixels.tobytes()).hexdigest())
    return facts


def manifests(folder: Path, settings: FamilySettings) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """The image and box manifests of `folder`, and the label entries that could not be read."""
    detection = settings.data.detection
    labels = read(folder)
    counts = labels.boxes["file"].value_counts()
    rows = []
    for file, width, height in labels.images.itertuples(index=False):
        facts = _image_facts(folder, file, detection.max_file_bytes)
        declared = (width, height)
        matches = facts["readable"] and all(
            d is None or pd.isna(d) or int(d) == actual
            for d, actual in zip(declared, (facts["width"], facts["height"]), strict=True)
        )
        n = int(counts.get(file, 0))
        rows.append({"file": file, **facts, "size_matches": bool(matches), "boxes": n,
                     "has_boxes": n > 0})  # fmt: skip
    images = pd.DataFrame(rows, columns=IMAGE_COLUMNS)
    sizes = {r.file: (r.width, r.height) for r in images.itertuples() if r.readable}
    boxes = labels.boxes.copy()
    boxes["on_image"] = boxes["file"].isin(set(images["file"]))
    boxes["known"] = boxes["label"].isin(set(labels.classes))
    boxes["width"] = boxes["x2"] - boxes["x1"]
    boxes["height"] = boxes["y2"] - boxes["y1"]
    boxes["positive"] = (boxes["width"] > 0) & (boxes["height"] > 0)
    limits = np.array([sizes.get(f, (np.inf, np.inf)) for f in boxes["file"]], dtype=float)
    limits = limits.reshape(-1, 2)
    boxes["inside"] = (
        (boxes["x1"] >= -EDGE) & (boxes["y1"] >= -EDGE)
        & (boxes["x2"] <= limits[:, 0] + EDGE) & (boxes["y2"] <= limits[:, 1] + EDGE)
    )  # fmt: skip
    boxes["tiny"] = np.minimum(boxes["width"], boxes["height"]) < detection.min_box_pixels
    return images, boxes[BOX_COLUMNS].astype({"label": "string"}), labels.problems


def build_expectations(settings: FamilySettings) -> dict[str, list]:
    import great_expectations.expectations as gxe

    data, detection = settings.data, settings.data.detection
    return {
        "images": [
            gxe.ExpectTableRowCountToBeBetween(min_value=data.min_rows),
            gxe.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]),
            gxe.ExpectColumnValuesToBeBetween(
                column="bytes", min_value=1, max_value=detection.max_file_bytes
            ),
            # the labels' declared width and height are the picture's
            gxe.ExpectColumnValuesToBeInSet(column="size_matches", value_set=[True]),
            gxe.ExpectColumnValuesToBeUnique(column="file"),
            # the same picture twice could land in training and test: leakage
            gxe.ExpectColumnValuesToBeUnique(column="checksum"),
            gxe.ExpectColumnValuesToBeInSet(
                column="has_boxes", value_set=[True], mostly=1 - detection.max_empty_share
            ),
        ],
        "boxes": [
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeInSet(column="on_image", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="known", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="positive", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="inside", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="tiny", value_set=[False]),
        ],
    }


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The detection suite for `folder`; never raises on bad data."""
    try:
        images, boxes, problems = manifests(folder, settings)
    except LabelError as exc:
        return Suite(problem=f"expect_labels_to_be_readable: {exc}")
    expectations = build_expectations(settings)
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    failures = [f"expect_labels_to_parse: {'; '.join(problems[:5])}{more}"] if problems else []
    tables = {name: (frame, expectations[name])
              for name, frame in (("images", images), ("boxes", boxes))}  # fmt: skip
    return Suite(
        tables=tables,
        stats={
            "images": len(images),
            "boxes": len(boxes),
            "images_without_boxes": int((~images["has_boxes"]).sum()),
        },  # fmt: skip
        failures=failures,
    )


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """The classes, box sizes and boxes per image the model accepted."""
    images = suite.tables["images"][0]
    boxes = suite.tables["boxes"][0]
    return {
        "classes": sorted(str(c) for c in boxes["label"].unique()),
        "box_width": numeric_profile(boxes["width"].astype("float64")),
        "box_height": numeric_profile(boxes["height"].astype("float64")),
        "boxes_per_image": numeric_profile(images["boxes"].astype("float64")),
        "rows": len(images),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """The same classes as the accepted data; box sizes within its range and a margin."""
    import great_expectations.expectations as gxe

    boxes, rules = suite.tables["boxes"]
    margin = settings.data.contract_margin
    added = [gxe.ExpectColumnValuesToBeInSet(column="label", value_set=accepted["classes"])]
    for column in ("width", "height"):
        low, high = widened(accepted[f"box_{column}"]["min"], accepted[f"box_{column}"]["max"],
                            margin)  # fmt: skip
        added.append(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=max(0.0, low),
                                                       max_value=high))  # fmt: skip
    return replace(suite, tables={**suite.tables, "boxes": (boxes, [*rules, *added])})
