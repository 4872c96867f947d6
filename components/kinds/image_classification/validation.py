"""The image suite: GX on a per-image manifest and on the per-class counts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from components.kinds.base import Suite
from components.kinds.image_classification.data import class_counts, manifest
from components.kinds.image_classification.inference import MAX_PIXELS
from components.kinds.profile import numeric_profile, widened
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


def profile(settings: FamilySettings, suite: Suite) -> dict:
    """The class set, the files' modes, and the range of sizes and mean brightness."""
    files = suite.tables["data"][0]
    readable = files[files["readable"]]
    return {
        "classes": sorted(str(c) for c in files["class"].dropna().unique()),
        "modes": sorted(str(m) for m in readable["mode"].dropna().unique()),
        "width": numeric_profile(readable["width"].astype("float64")),
        "height": numeric_profile(readable["height"].astype("float64")),
        "mean_pixel": numeric_profile(readable["mean_pixel"].astype("float64")),
        "images": len(files),
    }


def contract(settings: FamilySettings, suite: Suite, accepted: dict) -> Suite:
    """The accepted classes and modes; sizes and brightness within the range and its margin."""
    import great_expectations.expectations as gxe

    files, rules = suite.tables["data"]
    added = [
        gxe.ExpectColumnValuesToBeInSet(column="class", value_set=accepted["classes"]),
        gxe.ExpectColumnValuesToBeInSet(column="mode", value_set=accepted["modes"]),
    ]
    for column in ("width", "height", "mean_pixel"):
        seen = accepted[column]
        if seen["min"] is not None:
            low, high = widened(seen["min"], seen["max"], settings.data.contract_margin)
            added.append(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)
            )
    return replace(suite, tables={**suite.tables, "data": (files, [*rules, *added])})
