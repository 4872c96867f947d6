"""The detector family through the flow on a user's COCO-annotated folder (the quick start),
served by /detect and /annotate; a real `bentoml serve` answers over HTTP."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.pipeline_helpers import asgi_client, detection_scenes, fuzz

TINY = [
    "data.detection.image_size=64",
    "model.widths=[16, 32, 48, 64]",
    "model.head=32",
    "train.epochs=30",
    "train.batch_size=16",
    "train.learning_rate=0.005",
    "train.progress=false",
    "data.workers=0",
    "gate.limits.test_map=[0.01, null]",
]


def png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def detector_run(project, prefect_server, tmp_path_factory):
    from pipelines.training import training_pipeline

    folder = tmp_path_factory.mktemp("detection") / "shapes"
    detection_scenes(folder, n=300)
    overrides = [f"data.source=folder:{folder}", *TINY]
    [outcome] = training_pipeline(families=["detector"], overrides=overrides)
    assert outcome["status"] == "ok", outcome["message"]
    return outcome


def test_own_coco_folder_trains_through_the_quick_start(detector_run):
    metrics = detector_run["metrics"]
    assert detector_run["model_name"] == "dlops-detector-shapes"
    assert detector_run["decision"] == "promoted"
    assert {"test_map", "test_ap50", "test_ap75", "test_ap_circle"} <= set(metrics)
    # half a minute on 210 small scenes already finds boxes (the built-in config: AP50 0.97)
    assert metrics["test_ap50"] > 0.15
    assert metrics["test_map"] > metrics["test_prior_map"] + 0.03


def test_detect_answers_in_the_uploads_pixels_and_refuses_bad_uploads(detector_run):
    from components.kinds.object_detection.data import scene
    from components.packaging import bento
    from components.registry.versions import version_settings

    settings = version_settings(detector_run["model_name"], detector_run["champion"])
    pixels, objects = scene(5_000_000, 64)  # a scene never seen in training
    large = np.asarray(np.kron(pixels, np.ones((2, 3, 1))), dtype=np.uint8)  # 128 x 192
    with asgi_client(
        "detector", bento.import_version(settings, detector_run["champion"])
    ) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        files = [("images", ("a.png", png(pixels), "image/png")),
                 ("images", ("b.png", png(large), "image/png"))]  # fmt: skip
        ok = client.post("/detect", files=files, data={"threshold": "0.05"})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model_name"] == "dlops-detector-shapes" and body["threshold"] == 0.05
        small, big = body["images"]
        assert (small["width"], small["height"], big["width"], big["height"]) == (64, 64, 192, 128)
        for answer, width, height in ((small, 64, 64), (big, 192, 128)):
            for item in answer["detections"]:
                x1, y1, x2, y2 = item["box"]
                assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
                assert item["score"] >= 0.05 and item["label"] in {"circle", "square",
                                                                  "triangle", "cross"}  # fmt: skip
        assert len(small["detections"]) >= 1
        drawn = client.post("/annotate", files=[("image", ("a.png", png(pixels), "image/png"))])
        assert drawn.status_code == 200 and drawn.content.startswith(b"\x89PNG")
        for bad, form in (
            ([("images", ("x.png", b"not an image", "image/png"))], {}),
            ([("images", ("x.png", b"", "image/png"))], {}),
            (files[:1], {"threshold": "2"}),
            (files[:1], {"threshold": "0.001"}),
        ):
            refused = client.post("/detect", files=bad, data=form)
            assert 400 <= refused.status_code < 500 and "error" in refused.json(), refused.text
        url = {"images": "http://127.0.0.1:9/x.png"}  # never fetched: a text field, refused
        as_text = client.post("/detect", data=url, files=[("note", ("n.txt", b"x"))])
        assert as_text.status_code == 422, as_text.text
        assert "expected an uploaded file" in as_text.json()["error"]
        assert client.post("/detect", data=url).status_code == 415  # not multipart at all
        too_many = client.post("/detect", files=files * 9)
        assert too_many.status_code == 413


def test_a_real_bentoml_serve_detects_over_http(detector_run, project_env, project):
    import httpx

    from components.kinds.object_detection.data import scene
    from components.packaging import bento
    from components.registry.versions import version_settings
    from tests.pipeline_helpers import bentoml_serve, served_drift

    name, champion = detector_run["model_name"], detector_run["champion"]
    settings = version_settings(name, champion)
    tag = bento.import_version(settings, champion)
    uploads = [("images", (f"{i}.png", png(scene(5_000_001 + i, 64)[0]))) for i in range(10)]
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    with bentoml_serve("detector", tag, env) as url:
        ok = httpx.post(f"{url}/detect", files=uploads, timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json()["model_version"] == champion
        refused = httpx.post(f"{url}/detect", files=[("images", ("x.png", b"junk"))], timeout=30)
        assert 400 <= refused.status_code < 500, refused.text
        check = served_drift(project, name, champion, rows=10)  # what was served, measured
        assert check["method"].startswith("MMD on the champion's backbone features")
        features = {t["feature"] for t in check["tests"]}
        assert features == {"width", "height", "brightness", "detections", "mean_score"}
