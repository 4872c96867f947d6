"""Detection data: the built-in scenes, and a folder of images with COCO or YOLO labels.

Both label formats are read into one internal form (`Annotations`): an image table (file,
width, height) and a box table (file, label, x1, y1, x2, y2 in the image's pixels). No torch
here: validation reads these tables too.

- COCO: `annotations.json` in the folder (`images`, `annotations` with `bbox` [x, y, w, h],
  `categories`); `file_name` relative to the folder or to its `images/` subfolder. Crowd
  annotations (`iscrowd: 1`) are left out, as COCO's evaluation ignores them.
- YOLO: `images/` and `labels/` (one `<image stem>.txt` per image, lines `class cx cy w h`
  normalised to the image), class names in `classes.txt` (one per line) or `data.yaml`
  (`names`). An image without a label file has no boxes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

COCO_FILE = "annotations.json"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
BOX_COLUMNS = ["file", "label", "x1", "y1", "x2", "y2"]

# the built-in scenes
SHAPES = ["circle", "square", "triangle", "cross"]
SCENE_SIZE = 96
SCENES = 2_000
MAX_OBJECTS = 6
SEED = 11


@dataclass(frozen=True)
class Annotations:
    """A folder's images and boxes in one form, whatever the label format."""

    images: pd.DataFrame  # file, width, height (as the labels declare; None where unknown)
    boxes: pd.DataFrame  # BOX_COLUMNS; label is a class name (unknown names kept: validation)
    classes: list[str]  # in the labels' own order (COCO category ids, YOLO class indices)
    format: str  # "coco" | "yolo"
    problems: list[str] = field(default_factory=list)  # malformed entries, named


class LabelError(ValueError):
    """The labels cannot be read at all (no label files, unparsable JSON, ...)."""


# --- the built-in scenes -------------------------------------------------------------------


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A textured backdrop: a colour gradient, smooth blotches and pixel noise (H, W, 3)."""
    from PIL import Image

    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size] / size
    t = (np.cos(angle) * xs + np.sin(angle) * ys)[..., None]
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    image = a * (1 - t) + b * t
    coarse = rng.normal(0, 40, (6, 6, 3)).astype(np.float32)
    blotches = np.stack(
        [np.asarray(Image.fromarray(coarse[..., c], mode="F").resize((size, size),
                    Image.Resampling.BICUBIC)) for c in range(3)], axis=-1,
    )  # fmt: skip
    return image + blotches + rng.normal(0, rng.uniform(4, 18), (size, size, 3))


def _shape_mask(shape: str, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A (h, w) mask of one object, touching all four edges of its box."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    if shape == "circle":
        draw.ellipse([0, 0, w - 1, h - 1], fill=255)
    elif shape == "square":
        draw.rectangle([0, 0, w - 1, h - 1], fill=255)
    elif shape == "triangle":
        if rng.random() < 0.5:
            draw.polygon([(0, h - 1), (w - 1, h - 1), ((w - 1) / 2, 0)], fill=255)
        else:
            draw.polygon([(0, 0), (w - 1, 0), ((w - 1) / 2, h - 1)], fill=255)
    else:  # a cross: two bars a third of the box thick
        tw, th = max(2, w // 3), max(2, h // 3)
        draw.rectangle([(w - tw) // 2, 0, (w - tw) // 2 + tw - 1, h - 1], fill=255)
        draw.rectangle([0, (h - th) // 2, w - 1, (h - th) // 2 + th - 1], fill=255)
    return np.asarray(mask, dtype=np.float32) / 255.0


def _covered(a: tuple, b: tuple) -> float:
    """The share of the smaller of boxes `a` and `b` that the other one overlaps."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def scene(index: int, size: int = SCENE_SIZE) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """Scene `index`: an RGB image (size, size, 3) uint8 and its (shape, box) objects.

    1 to MAX_OBJECTS shapes of random size, aspect, colour and place, drawn in order; no box
    overlaps more than a third of a smaller one (objects partly hidden, never wholly).
    """
    rng = np.random.default_rng([SEED, index])
    image = _background(rng, size)
    objects: list[tuple[str, tuple]] = []
    for _ in range(int(rng.integers(1, MAX_OBJECTS + 1))):
        for _attempt in range(30):
            side = rng.uniform(0.12, 0.4) * size
            aspect = rng.uniform(0.7, 1.4)
            w = int(np.clip(round(side * aspect), 6, size - 2))
            h = int(np.clip(round(side / aspect), 6, size - 2))
            x, y = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
            box = (x, y, x + w, y + h)
            if all(_covered(box, other) <= 1 / 3 for _, other in objects):
                break
        else:
            continue
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        mask = _shape_mask(shape, w, h, rng)[..., None]
        patch = image[y : y + h, x : x + w]
        colour = rng.uniform(0, 255, 3)
        while np.abs(colour - patch.mean(axis=(0, 1))).sum() < 150:  # stands out from its ground
            colour = rng.uniform(0, 255, 3)
        shade = colour + rng.normal(0, 8, (h, w, 3))
        image[y : y + h, x : x + w] = patch * (1 - mask) + shade * mask
        objects.append((shape, box))
    return np.clip(image, 0, 255).astype(np.uint8), objects


def write_builtin(folder: Path, scenes: int = SCENES) -> None:
    """`scenes` generated scenes as PNGs in `folder/images` and their COCO annotations."""
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index in range(scenes):
        pixels, objects = scene(index)
        name = f"{index:05d}.png"
        Image.fromarray(pixels, mode="RGB").save(folder / "images" / name, optimize=False)
        images.append({"id": index + 1, "file_name": f"images/{name}",
                       "width": SCENE_SIZE, "height": SCENE_SIZE})  # fmt: skip
        for shape, (x1, y1, x2, y2) in objects:
            annotations.append({
                "id": len(annotations) + 1, "image_id": index + 1,
                "category_id": SHAPES.index(shape) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0,
            })  # fmt: skip
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(SHAPES)]
    coco = {"images": images, "annotations": annotations, "categories": categories}
    (folder / COCO_FILE).write_text(json.dumps(coco, separators=(",", ":")) + "\n")


# --- reading a folder ----------------------------------------------------------------------


def label_format(folder: Path) -> str:
    """The label format, "coco" or "yolo", from the files present; LabelError when neither."""
    if (folder / COCO_FILE).is_file():
        return "coco"
    if (folder / "labels").is_dir() and (folder / "images").is_dir():
        return "yolo"
    raise LabelError(
        f"no labels: expected {COCO_FILE} (COCO) or images/ + labels/ (YOLO) in the folder"
    )


def read(folder: Path) -> Annotations:
    """The folder's images and boxes in the internal form; LabelError when unreadable."""
    return _read_coco(folder) if label_format(folder) == "coco" else _read_yolo(folder)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _read_coco(folder: Path) -> Annotations:
    try:
        coco = json.loads((folder / COCO_FILE).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise LabelError(f"{COCO_FILE} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise LabelError(f"{COCO_FILE} is not JSON: {exc}") from None
    if not isinstance(coco, dict) or not all(
        isinstance(coco.get(key), list) for key in ("images", "annotations", "categories")
    ):
        raise LabelError(f"{COCO_FILE} needs lists 'images', 'annotations' and 'categories'")
    problems: list[str] = []
    names: dict[int, str] = {}
    for i, category in enumerate(coco["categories"]):
        if not isinstance(category, dict) or not isinstance(category.get("name"), str):
            problems.append(f"categories[{i}]: needs an id and a name")
        elif category.get("id") in names or not isinstance(category.get("id"), int):
            problems.append(f"categories[{i}]: id {category.get('id')!r} missing or used twice")
        else:
            names[category["id"]] = category["name"]
    files: dict[int, str] = {}
    images = []
    for i, entry in enumerate(coco["images"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str):
            problems.append(f"images[{i}]: needs an id and a file_name")
            continue
        if entry.get("id") in files:
            problems.append(f"images[{i}]: id {entry.get('id')!r} used twice")
            continue
        name = entry["file_name"]
        file = name if (folder / name).is_file() or not (folder / "images" / name).is_file() \
            else f"images/{name}"  # fmt: skip
        files[entry.get("id")] = file
        images.append({"file": file, "width": _number(entry.get("width")),
                       "height": _number(entry.get("height"))})  # fmt: skip
    boxes = []
    for i, entry in enumerate(coco["annotations"]):
        if not isinstance(entry, dict):
            problems.append(f"annotations[{i}]: not an object")
            continue
        if entry.get("iscrowd"):
            continue
        bbox = entry.get("bbox")
        values = [_number(v) for v in bbox] if isinstance(bbox, list) else []
        if len(values) != 4 or any(v is None for v in values):
            problems.append(f"annotations[{i}]: bbox must be four numbers [x, y, w, h]")
            continue
        if entry.get("image_id") not in files:
            problems.append(f"annotations[{i}]: image_id {entry.get('image_id')!r} is no image")
            continue
        category = entry.get("category_id")
        label = names.get(category, f"<unknown category {category!r}>")
        x, y, w, h = values
        boxes.append({"file": files[entry["image_id"]], "label": label,
                      "x1": x, "y1": y, "x2": x + w, "y2": y + h})  # fmt: skip
    classes = [names[k] for k in sorted(names)]
    return Annotations(_images(images), pd.DataFrame(boxes, columns=BOX_COLUMNS), classes,
                       "coco", problems)  # fmt: skip


def _yolo_classes(folder: Path) -> list[str]:
    if (folder / "classes.txt").is_file():
        text = (folder / "classes.txt").read_text(encoding="utf-8-sig")
        return [line.strip() for line in text.splitlines() if line.strip()]
    if (folder / "data.yaml").is_file():
        import yaml

        try:
            names = (yaml.safe_load((folder / "data.yaml").read_text()) or {}).get("names")
        except yaml.YAMLError as exc:
            raise LabelError(f"data.yaml does not parse: {exc}") from None
        if isinstance(names, dict):
            names = [names[k] for k in sorted(names)]
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return names
        raise LabelError("data.yaml: 'names' must be a list of class names")
    raise LabelError("YOLO labels need their class names: classes.txt or data.yaml (names)")


def _read_yolo(folder: Path) -> Annotations:
    from PIL import Image

    classes = _yolo_classes(folder)
    problems: list[str] = []
    images, boxes = [], []
    files = sorted(p for p in (folder / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    for path in files:
        file = str(path.relative_to(folder))
        try:
            with Image.open(path) as image:  # the header only: validation decodes the pixels
                width, height = image.size
        except Exception:
            width = height = None
        images.append({"file": file, "width": width, "height": height})
        label = folder / "labels" / path.relative_to(folder / "images").with_suffix(".txt")
        if not label.is_file() or width is None:
            continue
        for n, line in enumerate(label.read_text(encoding="utf-8-sig", errors="replace")
                                 .splitlines(), start=1):  # fmt: skip
            fields = line.split()
            if not fields:
                continue
            try:
                index, cx, cy, w, h = int(fields[0]), *(float(v) for v in fields[1:5])
                if len(fields) != 5 or not np.isfinite([cx, cy, w, h]).all():
                    raise ValueError
            except ValueError:
                problems.append(f"{label.relative_to(folder)}:{n}: expected 'class cx cy w h'")
                continue
            name = classes[index] if 0 <= index < len(classes) else f"<unknown class {index}>"
            boxes.append({"file": file, "label": name,
                          "x1": (cx - w / 2) * width, "y1": (cy - h / 2) * height,
                          "x2": (cx + w / 2) * width, "y2": (cy + h / 2) * height})  # fmt: skip
    return Annotations(_images(images), pd.DataFrame(boxes, columns=BOX_COLUMNS), classes,
                       "yolo", problems)  # fmt: skip


def image_size(path: Path) -> tuple[int, int]:
    """An image's (width, height) from its header (validated data: the file decodes)."""
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def _images(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["file", "width", "height"])
