"""Detection labels: COCO and YOLO read alike; broken images and boxes fail by column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from components.kinds.object_detection import data
from tests.pipeline_helpers import detection_scenes


def test_builtin_scenes_are_byte_identical(tmp_path):
    data.write_builtin(tmp_path / "a", scenes=12)
    data.write_builtin(tmp_path / "b", scenes=12)
    for path in sorted((tmp_path / "a").rglob("*.*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name
    coco = json.loads((tmp_path / "a" / data.COCO_FILE).read_text())
    assert len(coco["images"]) == 12 and len(coco["categories"]) == len(data.SHAPES)


def test_coco_and_yolo_labels_read_to_the_same_boxes(tmp_path):
    detection_scenes(tmp_path / "coco", n=8)
    detection_scenes(tmp_path / "yolo", n=8, layout="yolo")
    coco, yolo = data.read(tmp_path / "coco"), data.read(tmp_path / "yolo")
    assert (coco.format, yolo.format) == ("coco", "yolo")
    assert coco.classes == yolo.classes == data.SHAPES
    assert coco.images["file"].tolist() == yolo.images["file"].tolist()
    columns = ["x1", "y1", "x2", "y2"]
    np.testing.assert_allclose(coco.boxes[columns], yolo.boxes[columns], atol=1e-3)
    assert coco.boxes["label"].tolist() == yolo.boxes["label"].tolist()


def test_crowd_boxes_are_left_out_and_malformed_entries_named(tmp_path):
    coco = detection_scenes(tmp_path, n=3)
    coco["annotations"][0]["iscrowd"] = 1
    coco["annotations"][1]["bbox"] = [1, 2, "three", 4]
    coco["annotations"][2]["image_id"] = 999
    (tmp_path / data.COCO_FILE).write_text(json.dumps(coco))
    labels = data.read(tmp_path)
    assert len(labels.boxes) == len(coco["annotations"]) - 3
    assert any("bbox must be four numbers" in p for p in labels.problems)
    assert any("image_id 999 is no image" in p for p in labels.problems)


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not JSON"), ('{"images": []}', "needs lists"), (b"\xff\xfe\x00", "UTF-8")],
)
def test_unreadable_coco_files_raise_label_errors(tmp_path, content, message):
    path = tmp_path / data.COCO_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(data.LabelError, match=message):
        data.read(tmp_path)


def test_a_folder_without_labels_says_what_it_needs(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(data.LabelError, match="annotations.json"):
        data.read(tmp_path)


def _outside(folder, coco):
    coco["annotations"][0]["bbox"][0] = 60.0  # x2 past the 64-pixel edge


def _unknown(folder, coco):
    coco["annotations"][1]["category_id"] = 77


def _zero_area(folder, coco):
    coco["annotations"][2]["bbox"][2] = 0


def _tiny(folder, coco):
    coco["annotations"][3]["bbox"][2:] = [1, 1]


def _undecodable(folder, coco):
    (folder / "images" / coco["images"][4]["file_name"]).write_bytes(b"\x89PNG broken")


def _twice(folder, coco):
    first, second = (folder / "images" / coco["images"][k]["file_name"] for k in (5, 6))
    second.write_bytes(first.read_bytes())


def _declared_size(folder, coco):
    coco["images"][7]["width"] = 128


CORRUPT = {
    "box outside its image": (_outside, "inside"),
    "unknown category": (_unknown, "known"),
    "zero-area box": (_zero_area, "positive"),
    "tiny box": (_tiny, "tiny"),
    "undecodable image": (_undecodable, "readable"),
    "the same picture twice": (_twice, "checksum"),
    "declared size is not the picture's": (_declared_size, "size_matches"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupted_detection_data_is_refused_by_column(case, project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.gx_runner import summarise
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate({"family": "detector", "data": {"source": "folder:x"}})
    coco = detection_scenes(tmp_path, n=60)
    corrupt, column = CORRUPT[case]
    corrupt(tmp_path, coco)
    (tmp_path / data.COCO_FILE).write_text(json.dumps(coco))
    report = validate_folder(project, settings, tmp_path)
    assert not report.success
    assert f"column '{column}'" in "\n".join(summarise(report.failures))


def test_clean_coco_and_yolo_folders_pass_and_bad_yolo_lines_are_named(project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate({"family": "detector", "data": {"source": "folder:x"}})
    detection_scenes(tmp_path / "coco", n=60)
    detection_scenes(tmp_path / "yolo", n=60, layout="yolo")
    assert validate_folder(project, settings, tmp_path / "coco").success
    assert validate_folder(project, settings, tmp_path / "yolo").success
    (tmp_path / "yolo" / "labels" / "s000.txt").write_text("0 0.5 0.5 0.2\n")
    report = validate_folder(project, settings, tmp_path / "yolo")
    assert not report.success
    assert "labels/s000.txt:1: expected 'class cx cy w h'" in "\n".join(report.failures)
