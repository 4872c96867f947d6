"""CNN, RNN and GAN through the real flow, beside an MLP whose data fails validation: each
family's own outcome, tracked run, champion, Bento and a real `bentoml serve` process.

Runs after test_pipeline.py (file order): these families add folders to data/, which moves the
data version that the MLP tests there compare across runs.
"""

import base64
import io

import httpx
import numpy as np
import pytest

from tests.pipeline_helpers import (
    asgi_client,
    assert_lineage,
    bentoml_serve,
    fuzz,
    served_drift,
    store_tag,
)

pytestmark = pytest.mark.integration
FAMILIES = ["mlp", "cnn", "rnn", "gan"]
TINY = """\
mlp:
  data: {source: "csv:%s"}
cnn:
  train: {epochs: 12, progress: false}
rnn:
  train: {epochs: 12, progress: false}
gan:
  train: {epochs: 6, progress: false}
  model: {sample_every: 3}
"""


@pytest.fixture(scope="module")
def families_run(project, prefect_server, tmp_path_factory, first_run):
    from pipelines.training import training_pipeline

    folder = tmp_path_factory.mktemp("families")
    broken = folder / "broken.csv"
    broken.write_text("a,target\n1,0\n")  # too few rows, wrong columns: fails validation
    config = folder / "tiny.yaml"
    config.write_text(TINY % broken)
    outcomes = training_pipeline(families=FAMILIES, config=config)
    return {o["family"]: o for o in outcomes}


def test_one_familys_failure_does_not_stop_the_others(families_run):
    assert families_run["mlp"]["status"] == "validation failed"
    assert "expect_table_row_count_to_be_between" in families_run["mlp"]["message"]
    for family in ("cnn", "rnn", "gan"):
        outcome = families_run[family]
        assert outcome["status"] == "ok", (family, outcome["message"])
        assert outcome["decision"] == "promoted" and outcome["champion"] == "1"
        assert outcome["bento"].startswith(f"dlops-{family}:v1-")


@pytest.mark.parametrize(
    ("family", "metrics", "plots"),
    [
        (
            "cnn",
            {"test_accuracy", "test_macro_f1"},
            {"confusion_matrix.png", "loss_curve.png", "misclassified.png"},
        ),
        ("rnn", {"test_mae", "test_rmse", "test_mase"}, {"forecast.png", "loss_curve.png"}),
        (
            "gan",
            {"test_frechet_distance", "test_class_entropy"},
            {"sample_grid.png", "loss_curve.png"},
        ),
    ],
)
def test_each_family_is_tracked_alike(families_run, family, metrics, plots):
    from components.tracking.runs import client

    outcome = families_run[family]
    run = client().get_run(outcome["run_id"])
    for tag in ("family", "data_version", "git_commit", "config_hash", "device"):
        assert run.data.tags[tag]
    assert run.data.tags["family"] == family
    assert run.data.tags["data_version"] == outcome["data_version"]
    assert metrics <= set(run.data.metrics) and "best_epoch" in run.data.metrics
    logged = {a.path.split("/")[-1] for a in client().list_artifacts(outcome["run_id"], "plots")}
    assert plots <= logged
    version = client().get_model_version(f"dlops-{family}", "1")
    assert version.tags["data_version"] == outcome["data_version"]


def test_cnn_learns_the_digits(families_run):
    assert families_run["cnn"]["metrics"]["test_accuracy"] > 0.85


def test_rnn_records_gaps_and_beats_seasonal_naive(families_run):
    from components.tracking.runs import client

    outcome = families_run["rnn"]
    params = client().get_run(outcome["run_id"]).data.params
    assert params["data.gaps.found"] == "59" and params["data.gaps.filled"] == "59"
    assert outcome["metrics"]["test_mase"] < 1  # the gate's limit: it became champion


def test_gan_logs_sample_grids_per_epoch(families_run):
    from components.tracking.runs import client

    outcome = families_run["gan"]
    samples = client().list_artifacts(outcome["run_id"], "training/samples")
    assert {a.path.split("/")[-1] for a in samples} >= {"0003.png", "0006.png", "best.png"}
    assert outcome["metrics"]["test_frechet_distance"] > 0


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _lineage(body: dict, outcome: dict, family: str) -> None:
    assert body["model_version"] == "1" and body["model_name"] == f"dlops-{family}"
    assert body["data_version"] == outcome["data_version"]
    assert_lineage(body, family)


def _refused(responses, family: str) -> None:
    """Each is a 4xx whose body names the problem in the request's terms, with the lineage."""
    assert [r.status_code // 100 for r in responses] == [4] * len(responses), [
        r.text for r in responses
    ]
    for response in responses:
        assert "IODescriptor" not in response.text and response.json()["error"]
        assert_lineage(response.json(), family)


def test_cnn_service(families_run, project_env):
    from sklearn.datasets import load_digits

    digits = load_digits()
    image = np.rint(digits.images[0] * 255 / 16)
    with bentoml_serve("cnn", store_tag("dlops-cnn"), project_env) as url:
        files = [
            ("images", ("a.png", _png(image), "image/png")),
            ("images", ("b.png", _png(np.kron(image, np.ones((4, 4)))), "image/png")),
        ]
        upload = httpx.post(f"{url}/classify", files=files, timeout=30)
        assert upload.status_code == 200, upload.text
        _lineage(upload.json(), families_run["cnn"], "cnn")
        assert len(upload.json()["predictions"]) == 2
        arrays = httpx.post(f"{url}/predict", json={"images": [(image / 255).tolist()]}, timeout=30)
        assert arrays.status_code == 200, arrays.text
        bad = [
            httpx.post(f"{url}/classify", files=[("images", ("x.png", b"not an image"))]),
            httpx.post(f"{url}/classify", data={"other": "1"}),
            httpx.post(
                f"{url}/classify",
                content=b"garbage--xyz",
                headers={"content-type": "multipart/form-data; boundary=xyz"},
            ),
            httpx.post(f"{url}/predict", json={"images": []}),
            httpx.post(f"{url}/predict", json={"images": [[[2.0, 0], [0, 0]]]}),
            httpx.post(f"{url}/predict", json={"images": [[[0.1, 0.2], [0.3, 0.4]]]}),
            httpx.post(f"{url}/predict", json={"images": [[[0.0]]], "x": 1}),
            httpx.post(
                f"{url}/predict",
                content=b'{"images": [[[NaN]]]}',
                headers={"content-type": "application/json"},
            ),
        ]
        _refused(bad, "cnn")


def test_rnn_service(families_run, project_env, project):
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    with bentoml_serve("rnn", store_tag("dlops-rnn"), env) as url:
        for start in range(9):  # nine more histories: the drift check below needs ten
            more = [350.0 + 0.03 * i for i in range(start, start + 60)]
            assert httpx.post(f"{url}/forecast", json={"history": more}).status_code == 200
        history = [350.0 + 0.03 * i for i in range(60)]
        ok = httpx.post(f"{url}/forecast", json={"history": history}, timeout=30)
        assert ok.status_code == 200, ok.text
        _lineage(ok.json(), families_run["rnn"], "rnn")
        assert len(ok.json()["forecast"]) == 4
        bad = [
            {"history": [360.0, 361.0]},
            {"history": ["360.1"] + history},
            {"history": []},
            {},
            {"history": history, "horizon": 8},
            {"history": [True] + history},
        ]
        refused = [httpx.post(f"{url}/forecast", json=b, timeout=30) for b in bad]
        nan = httpx.post(
            f"{url}/forecast",
            content=b'{"history": [NaN, 1.0]}',
            headers={"content-type": "application/json"},
            timeout=30,
        )
        _refused([*refused, nan], "rnn")
        assert "history[0]: Input should be a valid number" in refused[1].json()["error"]
        assert "at least 52" in refused[0].json()["error"]
        check = served_drift(project, "dlops-rnn", "1", rows=10)
        assert {t["feature"] for t in check["tests"]} == {"level", "seasonal_amplitude", "trend"}


def test_gan_service(families_run, project_env):
    with bentoml_serve("gan", store_tag("dlops-gan"), project_env) as url:
        request = {"n": 3, "seed": 7, "digit": 3}
        first = httpx.post(f"{url}/generate", json=request, timeout=30)
        assert first.status_code == 200, first.text
        body = first.json()
        _lineage(body, families_run["gan"], "gan")
        assert len(body["images"]) == 3
        assert base64.b64decode(body["images"][0]).startswith(b"\x89PNG")
        again = httpx.post(f"{url}/generate", json=request, timeout=30)
        assert again.json()["images"] == body["images"]  # same seed, same images
        arrays = httpx.post(f"{url}/generate", json={**request, "format": "array"}, timeout=30)
        assert np.asarray(arrays.json()["images"]).shape[-2:] == (8, 8)
        bad = [
            {"n": 0, "seed": 1},
            {"n": "2", "seed": 1},
            {"seed": 1},
            {"n": 2, "seed": 1, "extra": 1},
            {"n": 2, "seed": 1, "digit": 12},
            {"n": 100000, "seed": 1},
            {"n": 2, "seed": 1, "format": "jpeg"},
        ]
        refused = [httpx.post(f"{url}/generate", json=b, timeout=30) for b in bad]
        _refused(refused, "gan")
        assert refused[2].json()["error"] == "n: Field required"
        assert refused[4].json()["error"].startswith("digit: must be one of")


def test_services_in_process(families_run):
    """CNN, RNN and GAN through their ASGI apps: answers and refusals, as over HTTP."""
    from sklearn.datasets import load_digits

    image = np.rint(load_digits().images[0] * 255 / 16)
    with asgi_client("cnn", store_tag("dlops-cnn")) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        upload = client.post("/classify", files=[("images", ("a.png", _png(image), "image/png"))])
        assert upload.status_code == 200, upload.text
        _lineage(upload.json(), families_run["cnn"], "cnn")
        arrays = client.post("/predict", json={"images": [(image / 255).tolist()]})
        assert arrays.json()["predictions"] == upload.json()["predictions"]
        _refused(
            [
                client.post("/classify", files=[("images", ("x.png", b"not an image"))]),
                client.post("/predict", json={"images": [[[2.0, 0], [0, 0]]]}),
            ],
            "cnn",
        )
    with asgi_client("rnn", store_tag("dlops-rnn")) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        ok = client.post("/forecast", json={"history": [350.0 + 0.03 * i for i in range(60)]})
        assert ok.status_code == 200 and len(ok.json()["forecast"]) == 4
        _lineage(ok.json(), families_run["rnn"], "rnn")
        _refused([client.post("/forecast", json={"history": [1.0]})], "rnn")
    with asgi_client("gan", store_tag("dlops-gan")) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        made = client.post("/generate", json={"n": 2, "seed": 3, "digit": 5})
        assert made.status_code == 200 and made.json()["digits"] == [5, 5]
        _lineage(made.json(), families_run["gan"], "gan")
        _refused([client.post("/generate", json={"n": 2, "digit": 12})], "gan")
