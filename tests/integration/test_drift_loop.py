"""The drift loop through real services: requests to `bentoml serve` of a table model (MLP) and
an image model (CNN) are logged; unshifted ones trigger nothing; shifted ones are found, the
moved features named, a retrain triggered through the gate and linked in the ledger.

Its own registered models (drift-mlp, drift-cnn): the other tests' champions stay as they are.
"""

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.pipeline_helpers import bentoml_serve, registry_state, store_tag, webhook_receiver

pytestmark = pytest.mark.integration
CONFIG = """\
pipeline:
  drift: {window: 300, min_window: 100, permutations: 200, alpha: 0.01, cooldown_hours: 1}
  notify: {webhooks: [{url: "%s", events: [drift_detected]}]}
mlp:
  model: {hidden_sizes: [16]}
  train: {epochs: 15, patience: 5, progress: false}
  registry: {model_name: drift-mlp}
cnn:
  train: {epochs: 12, progress: false}
  registry: {model_name: drift-cnn}
"""
MODELS = {"mlp": "drift-mlp", "cnn": "drift-cnn"}
SHIFTED = ["mean_radius", "worst_texture"]  # the table's features the shifted requests move


@pytest.fixture(scope="module")
def hook():
    """A webhook receiver for the drift_detected events: (url, the bodies it received)."""
    with webhook_receiver() as received:
        yield received


@pytest.fixture(scope="module")
def trained(project, prefect_server, tmp_path_factory, hook):
    from pipelines.training import training_pipeline

    config = tmp_path_factory.mktemp("drift") / "drift.yaml"
    config.write_text(CONFIG % hook[0])
    outcomes = training_pipeline(families=list(MODELS), config=config)
    for outcome in outcomes:
        assert outcome["status"] == "ok" and outcome["champion"] == "1", outcome
    yield config
    from components import tags
    from components.tracking.runs import client

    for name in MODELS.values():  # the other tests' default models are theirs again
        client().delete_registered_model_tag(name, tags.DEFAULT_SINCE)


def _logged_rows(project, model_name: str, version: str = "1") -> int:
    from components.runtime.input_log import folder_of, read_window

    return len(read_window(folder_of(project.served, model_name, version), 100_000))


def _wait_for_log(project, model_name: str, rows: int) -> None:
    """The service writes its log every 2 seconds: wait until `rows` rows are there."""
    deadline = time.monotonic() + 30
    while _logged_rows(project, model_name) < rows:
        assert time.monotonic() < deadline, f"{model_name}: served inputs not logged"
        time.sleep(0.5)


def _reference_file(model_name: str, version: str) -> Path:
    """The drift reference in the local artifact store of the version's training run."""
    from urllib.parse import urlparse

    from components.registry.versions import version_info
    from components.tracking.runs import client

    run = client().get_run(version_info(model_name, version).run_id)
    return Path(urlparse(run.info.artifact_uri).path) / "drift" / "reference.parquet"


def _check(config, family: str):
    from pipelines.drift import drift_pipeline

    [row] = drift_pipeline({family: MODELS[family]}, config)
    return row


def _table_rows(shift: bool) -> tuple[list[str], np.ndarray]:
    from components.kinds.tabular_classification.data import breast_cancer

    frame = breast_cancer().drop(columns="target").sample(300, random_state=1, replace=True)
    if shift:
        for name in SHIFTED:  # half a standard deviation up: within the data's range
            frame[name] += 0.6 * frame[name].std()
    return list(frame.columns), frame.to_numpy()


def _images(shift: bool) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(3)
    pick = rng.choice(len(digits.images), 300, replace=False)
    images = np.rint(digits.images[pick] * 255 / 16) / 255
    if shift:
        images = 0.5 + 0.5 * images  # a grey background: brighter, lower contrast
    return images, digits.target[pick]


def _send_rows(url: str, rows: np.ndarray) -> None:
    for start in range(0, len(rows), 20):
        answer = httpx.post(f"{url}/predict", json={"rows": rows[start : start + 20].tolist()})
        assert answer.status_code == 200, answer.text


def _send_images(url: str, images: np.ndarray) -> None:
    for start in range(0, len(images), 20):
        batch = images[start : start + 20].tolist()
        answer = httpx.post(f"{url}/predict", json={"images": batch}, timeout=30)
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def table_loop(project, project_env, trained):
    """MLP: a handful of requests, 300 unshifted, then 300 shifted; a check after each."""
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    checks = {}
    with bentoml_serve("mlp", store_tag("drift-mlp"), env) as url:
        _, rows = _table_rows(shift=False)
        _send_rows(url, rows[:5])
        _wait_for_log(project, "drift-mlp", 5)
        checks["handful"] = _check(trained, "mlp")
        _send_rows(url, rows[5:])
        _wait_for_log(project, "drift-mlp", 300)
        # as for a champion trained before drift checks: no reference logged on its run
        reference = _reference_file("drift-mlp", "1")
        checks["reference"] = pd.read_parquet(reference)
        reference.unlink()
        checks["unshifted"] = _check(trained, "mlp")
        checks["rebuilt"] = pd.read_parquet(_reference_file("drift-mlp", "1"))
        _, shifted = _table_rows(shift=True)
        _send_rows(url, shifted)
        _wait_for_log(project, "drift-mlp", 600)
    checks["shifted"] = _check(trained, "mlp")
    checks["again"] = _check(trained, "mlp")  # within the cool-down
    return checks


@pytest.fixture(scope="module")
def image_loop(project, project_env, trained):
    """CNN: 300 unshifted images, then 300 brighter ones; a check after each."""
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    checks = {}
    with bentoml_serve("cnn", store_tag("drift-cnn"), env) as url:
        images, labels = _images(shift=False)
        checks["sent"] = {"unshifted": (images, labels)}
        _send_images(url, images)
        _wait_for_log(project, "drift-cnn", 300)
        checks["unshifted"] = _check(trained, "cnn")
        shifted, labels = _images(shift=True)
        checks["sent"]["shifted"] = (shifted, labels)
        _send_images(url, shifted)
        _wait_for_log(project, "drift-cnn", 600)
    checks["shifted"] = _check(trained, "cnn")
    return checks


def test_a_handful_of_requests_triggers_nothing(table_loop):
    check = table_loop["handful"]["check"]
    assert check["status"] == "too few rows" and check["rows"] == 5
    assert not check["triggered"] and "min_window" in check["reason"]
    assert "retrain" not in table_loop["handful"]


def test_a_champion_without_a_reference_gets_it_rebuilt_from_its_data_version(table_loop):
    assert table_loop["unshifted"]["check"]["reference_rows"] == len(table_loop["reference"])
    pd.testing.assert_frame_equal(table_loop["rebuilt"], table_loop["reference"])


@pytest.mark.parametrize("loop", ["table_loop", "image_loop"])
def test_unshifted_requests_trigger_nothing(request, loop):
    row = request.getfixturevalue(loop)["unshifted"]
    check = row["check"]
    assert check["status"] == "no drift", check
    assert check["rows"] == 300 and check["p_value"] >= 0.01
    assert not check["triggered"] and "retrain" not in row


def test_shifted_table_requests_name_the_moved_features(table_loop):
    check = table_loop["shifted"]["check"]
    assert check["status"] == "drift" and check["p_value"] < 0.01
    assert sorted(check["moved"]) == sorted(SHIFTED)  # these two, and no other feature
    assert check["method"].startswith("per-feature KS")


def test_shifted_images_are_found_on_the_models_features(image_loop):
    check = image_loop["shifted"]["check"]
    assert check["status"] == "drift" and check["method"].startswith("MMD")
    assert check["p_value"] < 0.01
    assert "brightness" in check["moved"] and "contrast" in check["moved"]


@pytest.mark.parametrize("loop", ["table_loop", "image_loop"])
def test_drift_is_an_mlflow_run_with_its_evidence(request, loop):
    from components.tracking.runs import client

    check = request.getfixturevalue(loop)["shifted"]["check"]
    run = client().get_run(check["run_id"])
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert tags["dlops.kind"] == "drift" and tags["model_version"] == "1"
    assert tags["drift.status"] == "drift" and tags["drift.triggered"] == "true"
    assert tags["drift.moved"] == ", ".join(check["moved"])
    assert params["window"] == "300" and params["window_start"] and params["window_end"]
    assert metrics["p_value"] == pytest.approx(check["p_value"])
    assert metrics["rows"] == 300 and "statistic" in metrics
    files = {a.path for a in client().list_artifacts(run.info.run_id, "drift")}
    assert files == {"drift/biggest_shift.png", "drift/features.json"}


@pytest.mark.parametrize("loop", ["table_loop", "image_loop"])
def test_drift_retrains_through_the_gate_and_the_ledger_links_it(request, loop):
    from components.registry import ledger

    row = request.getfixturevalue(loop)["shifted"]
    check, retrain = row["check"], row["retrain"]
    assert check["triggered"] and retrain["status"] == "ok", retrain
    assert retrain["version"] == "2" and retrain["decision"] in ("promoted", "rejected")
    [entry] = [e for e in ledger.entries(row["model_name"]) if e.version == "2"]
    assert entry.cause == f"drift:{check['run_id']}"
    assert entry.action in ("promote", "reject")  # the usual gate decided


def test_drift_is_announced_to_the_hooks(table_loop, image_loop, hook):
    events = [b for b in hook[1] if b["event"] == "drift_detected"]
    # the two shifted checks and the one held by the cool-down: drift each time, nothing else
    assert sorted(b["model_name"] for b in events) == ["drift-cnn", "drift-mlp", "drift-mlp"]
    for body in events:
        assert "served inputs drifted" in body["text"] and body["run_id"] and body["report"]
    mlp = next(b for b in events if b["model_name"] == "drift-mlp")
    assert mlp["run_id"] == table_loop["shifted"]["check"]["run_id"]


def test_the_cool_down_holds_a_second_retrain(table_loop):
    row = table_loop["again"]
    assert row["check"]["status"] == "drift" and not row["check"]["triggered"]
    assert "cool-down" in row["check"]["reason"] and "retrain" not in row
    assert registry_state("drift-mlp")["versions"] == [1, 2]


def test_history_shows_the_drift_cause(table_loop):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["history", "mlp", "--model", "drift-mlp", "--json"])
    assert result.exit_code == 0, result.output
    causes = [e["cause"] for e in json.loads(result.output)]
    assert causes[-1] == f"drift:{table_loop['shifted']['check']['run_id']}"


def _export(project, sent, tmp_path, name: str):
    """`dlops drift --export` of the served rows that were `sent` (labelled by what was sent)."""
    from typer.testing import CliRunner

    from components.runtime.input_log import read_window
    from pipelines.cli import app

    images, labels = sent
    by_pixels = {
        (image * 255).round().astype(np.uint8).tobytes(): label
        for image, label in zip(images, labels, strict=True)
    }
    window = read_window(project.served / "drift-cnn", 1000, versions=True)
    rows = [(i, by_pixels[p]) for i, p in zip(window["_id"], window["pixels"], strict=True)
            if p in by_pixels]  # fmt: skip
    file = tmp_path / f"{name}.csv"
    file.write_text("_id,label\n" + "".join(f"{i},{label}\n" for i, label in rows))
    folder = tmp_path / name
    args = ["drift", "--family", "cnn", "--model", "drift-cnn", "--export", str(folder)]
    return folder, CliRunner().invoke(app, [*args, "--labels", str(file)]), args, file


def test_served_images_export_as_a_validated_data_candidate(image_loop, project, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    folder, result, args, labels = _export(
        project, image_loop["sent"]["unshifted"], tmp_path, "candidate"
    )
    assert result.exit_code == 0, result.output
    assert "300 labelled served rows written" in result.output and "validated" in result.output
    assert len(list(folder.rglob("*.png"))) == 300
    assert {p.name for p in folder.iterdir()} <= {str(d) for d in range(10)}

    again = CliRunner().invoke(app, [*args, "--labels", str(labels)])
    assert again.exit_code != 0 and "not empty" in str(again.exception)


def test_drifted_images_export_but_break_the_data_contract(image_loop, project, tmp_path):
    folder, result, _, _ = _export(project, image_loop["sent"]["shifted"], tmp_path, "bright")
    assert result.exit_code != 0
    message = str(result.exception)
    assert "fails validation" in message and "mean_pixel" in message
    assert "--accept-data-change" in message  # the way to accept a real change
    assert len(list(folder.rglob("*.png"))) == 300  # kept for the user to look at
