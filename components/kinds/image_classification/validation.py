"""The image suite: GX on a per-image manifest and on the per-class counts."""

from __future__ import annotations

from pathlib import Path

from components.kinds.base import Suite
from components.kinds.image_classification.data import class_counts, manifest
from components.kinds.image_classification.inference import MAX_PIXELS
from components.settings import FamilySettings


def build_expectations(settings: FamilySettings) -> dict[str, list]:
    """Expectations for the manifest (one row per file) and the class counts."""
    import great_expectations.expectations as gxe

    image = settings.data.image
    files = [
        gxe.ExpectTableRowCountToBeBetween(min_value=settings.data.min_rows),
        gxe.ExpectColumnValuesToNotBeNull(column="class"),  # files outside a class folder
        gxe.ExpectColumnValuesToBeInSet(column="readable", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="mode", value_set=image.allowed_modes),
        gxe.ExpectColumnValuesToBeBetween(column="min_pixel", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="max_pixel", max_value=255),
        gxe.ExpectColumnValuesToBeBetween(
            column="bytes", min_value=1, max_value=image.max_file_bytes
        ),
        # larger images are refused undecoded (decompression bombs), here as by the service
        gxe.ExpectColumnValuesToBeBetween(column="pixels", max_value=MAX_PIXELS),
        # identical images would land in different splits and leak test data into training
        gxe.ExpectColumnValuesToBeUnique(column="checksum"),
    ]
    classes = [
        gxe.ExpectTableRowCountToBeBetween(min_value=2, max_value=settings.data.max_classes),
        gxe.ExpectColumnValuesToBeBetween(column="count", min_value=image.min_per_class),
    ]
    return {"files": files, "classes": classes}


def suite(settings: FamilySettings, folder: Path) -> Suite:
    """The image suite for a class-folder tree; never raises on bad data, reports it."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return Suite(problem=f"expect_folder_to_hold_images: {folder} is empty")
    files = manifest(folder)
    counts = class_counts(folder, files)
    rules = build_expectations(settings)
    return Suite(
        tables={"data": (files, rules["files"]), "classes": (counts, rules["classes"])},
        stats={"images": len(files), "classes": len(counts)},
    )
