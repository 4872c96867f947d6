"""A user's own data through the quick start: its own model and data folder, served with its
classes; a data contract that refuses a changed file by column and lets an accepted change
through with a ledger entry; promote --force and rollback on it; a served answer walked back to
its data. The built-in model and data stay as they were throughout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.registry.versions import default_model
from tests.pipeline_helpers import asgi_client, registry_state

DLOPS = str(Path(sys.executable).parent / "dlops")
MODEL = "dlops-mlp-flowers"
SPECIES = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
LEARNS = ["train.learning_rate=0.05", "train.epochs=40"]  # the test config's tiny MLP learns


def flowers(rows: int = 150, seed: int = 0) -> pd.DataFrame:
    """Three well-separated classes of four measurements: a model that learns beats guessing."""
    rng = np.random.default_rng(seed)
    label = np.arange(rows) % 3
    values = rng.normal(size=(rows, 4)) * 0.5 + label[:, None] * 2.0 + 5.0
    frame = pd.DataFrame(values.round(3), columns=FEATURES)
    frame["species"] = np.array(SPECIES)[label]
    return frame


def dlops(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([DLOPS, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def own(project, prefect_server, first_run, tmp_path_factory):
    """The quick start on a user's CSV, after the built-in model's first run."""
    from pipelines.training import training_pipeline

    path = tmp_path_factory.mktemp("own") / "flowers.csv"
    flowers().to_csv(path, index=False)
    builtin = (project.data / "mlp" / "data.csv").read_bytes(), registry_state("dlops-mlp")
    overrides = [f"data.source=csv:{path}", "data.target=species", *LEARNS]
    [outcome] = training_pipeline(families=["mlp"], config=first_run["config"], overrides=overrides)
    assert outcome["status"] == "ok", outcome["message"]
    return {"path": path, "outcome": outcome, "builtin": builtin, "config": first_run["config"]}


def _state(project) -> tuple:
    """What a refused file must leave alone: registry, pointer, contract and data of the model."""
    key = MODEL.removeprefix("dlops-")
    return (
        registry_state(MODEL),
        (project.data / f"{key}.dvc").read_text(),
        (project.data / f"{key}.contract.json").read_text(),
        (project.data / key / "data.csv").read_bytes(),
    )


def test_own_csv_becomes_its_own_champion_beside_the_builtin(own, project):
    from components.data.versioning import current_version

    outcome = own["outcome"]
    assert outcome["model_name"] == MODEL and outcome["decision"] == "promoted"
    assert outcome["version"] == outcome["champion"] == "1"
    metrics = outcome["metrics"]
    assert metrics["test_accuracy"] >= metrics["test_majority_accuracy"] + 0.4  # not guessing
    # the built-in data and model are untouched; the user's data has its own folder and version
    assert (project.data / "mlp" / "data.csv").read_bytes() == own["builtin"][0]
    assert registry_state("dlops-mlp") == own["builtin"][1]
    assert (project.data / "mlp-flowers" / "data.csv").read_bytes() == own["path"].read_bytes()
    assert outcome["data_version"] == current_version(project, "mlp-flowers")
    assert default_model(project, "mlp") == MODEL  # serve/status/history default to it now
    contract = json.loads((project.data / "mlp-flowers.contract.json").read_text())
    assert contract["data_version"] == outcome["data_version"]
    assert contract["profile"]["columns"] == FEATURES
    assert contract["profile"]["labels"] == SPECIES


def test_the_served_answer_walks_back_to_its_data(own, project, tmp_path):
    from components.packaging import bento
    from components.registry.versions import version_settings

    settings = version_settings(MODEL, "1")  # the version's own settings: its source and target
    assert settings.data.target == "species" and settings.data.source == f"csv:{own['path']}"
    with asgi_client("mlp", bento.import_version(settings, "1")) as client:
        response = client.post("/predict", json={"rows": [[9.0, 9.0, 9.0, 9.0]]})
    assert response.status_code == 200
    answer = response.json()
    assert answer["predictions"][0]["class"] == "virginica"  # the user's classes, by name
    assert answer["model_name"] == MODEL and answer["model_version"] == "1"
    (tmp_path / "answer.json").write_text(response.text)

    restored = tmp_path / "restored"
    result = dlops("lineage", str(tmp_path / "answer.json"), "--restore", str(restored), "--json")
    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)
    assert chain["data_version"] == answer["data_version"] == own["outcome"]["data_version"]
    assert chain["git_commit"] == answer["git_commit"] and chain["git_commit"]
    assert chain["source"] == f"csv:{own['path']}" and chain["target"] == "species"
    assert "data/mlp-flowers.dvc" in chain["restore"]
    assert (restored / "data.csv").read_bytes() == own["path"].read_bytes()


CHANGES = {
    "missing column": (lambda f: f.drop(columns=["petal_width"]), "column 'petal_width'"),
    "unseen label": (
        lambda f: f.assign(species=f["species"].where(f.index != 4, "tulip")),
        "column 'species'",
    ),
    "out of range": (
        lambda f: f.assign(sepal_length=f["sepal_length"].where(f.index != 7, 90.0)),
        "column 'sepal_length'",
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_file_is_refused_naming_the_column(change, own, project):
    changed, where = CHANGES[change]
    original = own["path"].read_bytes()
    changed(flowers()).to_csv(own["path"], index=False)
    before = _state(project)
    try:
        result = dlops(
            "run", "--family", "mlp", "--config", str(own["config"]),
            "--set", f"data.source=csv:{own['path']}", "--set", "data.target=species",
            *(arg for item in LEARNS for arg in ("--set", item)),
        )  # fmt: skip
    finally:
        own["path"].write_bytes(original)
    assert result.returncode == 2, result.stderr
    assert "data validation failed" in result.stderr and where in result.stderr
    assert len(result.stderr.splitlines()) <= 15  # a summary, not GX's internals
    assert _state(project) == before  # nothing versioned, registered or promoted


def test_accepted_change_then_promote_force_and_rollback(own, project):
    from components.registry import ledger
    from components.registry.versions import CHAMPION, alias_version
    from pipelines.training import training_pipeline

    original = own["path"].read_bytes()
    shifted = flowers().assign(sepal_length=lambda f: f["sepal_length"] * 10)  # now in mm
    shifted.to_csv(own["path"], index=False)
    try:
        [outcome] = training_pipeline(
            families=["mlp"],
            config=own["config"],
            overrides=[f"data.source=csv:{own['path']}", "data.target=species", *LEARNS],
            accept_data_change="sepal_length is measured in mm from now on",
        )
    finally:
        own["path"].write_bytes(original)
    assert outcome["status"] == "ok" and outcome["version"] == "2", outcome["message"]
    [change] = [e for e in ledger.entries(MODEL) if e.action == "accept-data-change"]
    assert change.reason.startswith("sepal_length is measured in mm from now on")
    assert "ranges.sepal_length.max" in change.detail
    contract = json.loads((project.data / "mlp-flowers.contract.json").read_text())
    assert contract["data_version"] == outcome["data_version"]

    # promote --force and rollback, on the family's default model (the user's)
    champion = alias_version(MODEL, CHAMPION)
    other = "2" if champion == "1" else "1"
    result = dlops("promote", "mlp", "--version", other, "--force", "--reason", "checked by hand")
    assert result.returncode == 0, result.stderr
    assert alias_version(MODEL, CHAMPION) == other
    report = Path(result.stdout.split("promotion report: ")[1].strip()).read_text()
    assert f"dlops rollback mlp --model {MODEL}" in report  # its undo line undoes it
    result = dlops("rollback", "mlp")
    assert result.returncode == 0, result.stderr
    assert alias_version(MODEL, CHAMPION) == champion
    assert [e.action for e in ledger.entries(MODEL)][-2:] == ["force-promote", "rollback"]


def test_read_only_commands_read_the_same_facts_without_mlflow(own, project):
    """The SQLite reader and MlflowClient agree on every question status and history ask."""
    from components.tracking.store import ClientReader, SqliteReader, sqlite_path

    fast = SqliteReader(sqlite_path(project.tracking_uri()))
    slow = ClientReader()
    assert fast.models("mlp") == slow.models("mlp")  # other tests add models of their own
    assert {"dlops-mlp", MODEL} <= set(fast.models("mlp"))
    assert fast.default_model("mlp") == slow.default_model("mlp") is not None
    for name in ("dlops-mlp", MODEL):
        assert fast.alias_version(name, "champion") == slow.alias_version(name, "champion")
        assert fast.latest_version(name) == slow.latest_version(name)
        assert fast.version_tags(name, "1") == slow.version_tags(name, "1")
        for kind in ("training", "skipped"):
            assert fast.latest_run(name, kind) == slow.latest_run(name, kind)

        def rows(reader, model=name):
            return sorted(reader.ledger_rows(model), key=lambda r: r.run_id)

        assert rows(fast) == rows(slow) and rows(fast)
    run_id, _ = fast.version_tags(MODEL, "1")
    assert fast.run_metric(run_id, "test_accuracy") == slow.run_metric(run_id, "test_accuracy")


def test_a_small_image_folder_learns_with_the_defaults(project, prefect_server, tmp_path):
    """60 images of two classes: the batch and patience adapt, the model beats guessing."""
    from PIL import Image, ImageDraw

    from components.tracking.runs import client
    from pipelines.training import training_pipeline

    rng = np.random.default_rng(1)
    for shape in ("circle", "square"):
        (tmp_path / "shapes" / shape).mkdir(parents=True)
        for i in range(30):
            image = Image.new("L", (32, 32), int(rng.integers(0, 60)))
            r = int(rng.integers(6, 12))
            x, y = (int(v) for v in rng.integers(r + 1, 31 - r, 2))
            draw = ImageDraw.Draw(image)
            (draw.ellipse if shape == "circle" else draw.rectangle)(
                [x - r, y - r, x + r, y + r], fill=int(rng.integers(150, 256))
            )
            image.save(tmp_path / "shapes" / shape / f"{i:02d}.png")
    [outcome] = training_pipeline(
        families=["cnn"],
        overrides=[f"data.source=folder:{tmp_path / 'shapes'}", "data.image.size=32"],
    )
    assert outcome["status"] == "ok", outcome["message"]
    assert outcome["model_name"] == "dlops-cnn-shapes" and outcome["decision"] == "promoted"
    metrics = outcome["metrics"]
    assert metrics["test_accuracy"] >= metrics["test_majority_accuracy"] + 0.3
    params = client().get_run(outcome["run_id"]).data.params
    assert params["train.batch_size"] == "64" and int(params["train.adapted.batch_size"]) < 16
    # `dlops serve cnn` now serves it (the family's default model), answering with its classes
    from components.packaging import bento
    from components.registry.versions import version_settings

    assert default_model(project, "cnn") == "dlops-cnn-shapes"
    settings = version_settings("dlops-cnn-shapes", outcome["champion"])
    upload = (tmp_path / "shapes" / "square" / "00.png").read_bytes()
    with asgi_client("cnn", bento.import_version(settings, outcome["champion"])) as served:
        answer = served.post("/classify", files=[("images", ("x.png", upload, "image/png"))])
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_name"] == "dlops-cnn-shapes"
    assert set(answer.json()["predictions"][0]["probabilities"]) == {"circle", "square"}
