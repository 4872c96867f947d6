"""The real flow end to end: Prefect, DVC, GX, torch, MLflow tracking + registry, BentoML."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.pipeline_helpers import (
    asgi_client,
    assert_lineage,
    bentoml_serve,
    fuzz,
    registry_state,
    store_tag,
    training_runs,
)

pytestmark = pytest.mark.integration
DLOPS = str(Path(sys.executable).parent / "dlops")
LINEAGE = ("family", "data_version", "git_commit", "config_hash", "device")


def test_run_is_fully_tracked(first_run, project):
    from components.data.versioning import current_version, status
    from components.tracking.runs import client

    outcome = first_run["outcome"]
    run = client().get_run(outcome["run_id"])
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics

    # lineage tags
    assert tags["family"] == "mlp"
    assert tags["data_version"] == current_version(project, "mlp") == outcome["data_version"]
    assert tags["dlops.model"] == "dlops-mlp"
    assert len(tags["git_commit"].split("-")[0]) == 40
    assert tags["device"] == "cpu" and len(tags["config_hash"]) == 12
    assert run.info.run_name.startswith(f"mlp {outcome['data_version'][:8]} ")
    assert run.info.status == "FINISHED"
    # nested under the pipeline run, in an experiment that opens on training runs
    parent = client().get_run(tags["mlflow.parentRunId"])
    assert parent.data.tags["dlops.kind"] == "pipeline"
    experiment = client().get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    # params: the full resolved config, plus the recorded split
    assert params["train.epochs"] == "15" and params["model.hidden_sizes"] == "[16]"
    assert params["data.split.seed"] == "42" and len(params["data.split.digest"]) == 12
    assert int(params["data.rows.test"]) == 114
    # metrics: per-epoch curves and best-epoch summaries as their own keys
    epochs = int(metrics["epochs_run"])
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        assert len(client().get_metric_history(run.info.run_id, key)) == epochs
    assert 1 <= metrics["best_epoch"] <= epochs
    assert metrics["test_accuracy"] > 0.85 and 0 < metrics["test_macro_f1"] <= 1
    # artifacts
    names = {a.path for a in client().list_artifacts(run.info.run_id, "plots")}
    assert names == {"plots/confusion_matrix.png", "plots/loss_curve.png"}
    [gx_file] = client().list_artifacts(run.info.run_id, "validation")
    assert gx_file.path == "validation/validation_result.json"
    # the dataset, with the data version as its digest
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == outcome["data_version"][:36]
    # the whole resolved config, to rebuild the version from (promote, serve, build, lineage)
    [logged] = client().list_artifacts(run.info.run_id, "config")
    assert logged.path == "config/settings.json"
    # DVC: the model's folder matches data/mlp.dvc, and the remote holds the files
    assert all(state.clean for state in status(project))


def test_model_is_registered_with_lineage_and_champion(first_run):
    import mlflow
    from components.tracking.runs import client

    outcome = first_run["outcome"]
    assert outcome["version"] == "1" and outcome["decision"] == "promoted"
    state = registry_state("dlops-mlp")
    assert state["aliases"] == {"champion": 1, "challenger": 1} or state["aliases"] == {
        "champion": "1",
        "challenger": "1",
    }
    version = client().get_model_version("dlops-mlp", "1")
    run_tags = client().get_run(outcome["run_id"]).data.tags
    assert {k: version.tags[k] for k in LINEAGE} == {k: run_tags[k] for k in LINEAGE}
    assert version.tags["gate.decision"] == "promoted"
    # the logged model has a signature and loads through MLflow without unpickling a module
    model = mlflow.pyfunc.load_model("models:/dlops-mlp@champion")
    assert model.metadata.signature is not None
    features = model.metadata.signature.inputs.input_names()
    predictions = model.predict(pd.DataFrame([[10.0] * len(features)], columns=features))
    assert list(predictions.columns[:1]) == ["class"]


def test_bento_is_built_for_the_champion(first_run):
    import bentoml

    from components.tracking.runs import client

    bento = bentoml.bentos.get(first_run["outcome"]["bento"])
    assert [str(m.tag) for m in bento.info.all_models] == [store_tag("dlops-mlp")]
    model = bentoml.models.get(store_tag("dlops-mlp"))
    assert model.info.metadata["model_version"] == "1"
    # the store tag names the run: a registry version re-created after a delete is a new entry
    run_id = client().get_model_version("dlops-mlp", "1").run_id
    assert str(model.tag) == f"dlops-mlp:v1-{run_id[:12]}"
    assert model.info.metadata["data_version"] == first_run["outcome"]["data_version"]


def test_same_data_and_config_is_rejected_and_champion_stays(first_run):
    from components.tracking.runs import client
    from pipelines.training import training_pipeline

    [second] = training_pipeline(families=["mlp"], config=first_run["config"])
    assert second["status"] == "ok"
    assert second["data_version"] == first_run["outcome"]["data_version"]
    # deterministic on CPU: same data, config and seed give the same score, which is no gain
    assert second["metrics"] == first_run["outcome"]["metrics"]
    assert second["decision"] == "rejected" and second["champion"] == "1"
    version = client().get_model_version("dlops-mlp", second["version"])
    assert version.tags["gate.decision"] == "rejected"
    assert float(version.tags["gate.champion_score"]) == pytest.approx(
        first_run["outcome"]["metrics"]["test_accuracy"]
    )
    assert registry_state("dlops-mlp")["aliases"]["champion"] in (1, "1")


def _dlops(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DLOPS, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


def _ledger(env: dict) -> list[dict]:
    result = _dlops(env, "history", "mlp", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_weaker_model_rejected_then_forced_and_rolled_back(first_run, project_env):
    from pipelines.training import training_pipeline

    before = _ledger(project_env)
    [weak] = training_pipeline(
        families=["mlp"],
        config=first_run["config"],
        overrides=["train.epochs=1", "model.hidden_sizes=[2]"],
    )
    assert weak["status"] == "ok" and weak["decision"] == "rejected", weak["reason"]
    assert weak["champion"] == "1" and "interval" in weak["reason"]
    report = Path(weak["report"]).read_text()  # self-contained: plots inline, undo command
    assert "data:image/png;base64," in report and "expectations passed" in report
    assert "dlops promote mlp --model dlops-mlp --version" in report
    assert weak["reason"][:40] in report
    after_gate = _ledger(project_env)
    assert after_gate[: len(before)] == before  # the ledger only grows
    assert after_gate[-1]["action"] == "reject" and after_gate[-1]["version"] == weak["version"]
    assert after_gate[-1]["interval_low"] < 0

    refused = _dlops(project_env, "promote", "mlp", "--version", weak["version"])
    assert refused.returncode != 0 and "gate rejects" in refused.stderr
    no_reason = _dlops(project_env, "promote", "mlp", "--version", weak["version"], "--force")
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    assert _ledger(project_env) == after_gate  # refusals change nothing
    assert registry_state("dlops-mlp")["aliases"]["champion"] in (1, "1")

    forced = _dlops(
        project_env,
        "promote",
        "mlp",
        "--version",
        weak["version"],
        "--force",
        "--reason",
        "canary on purpose",
    )
    assert forced.returncode == 0, forced.stderr
    assert str(registry_state("dlops-mlp")["aliases"]["champion"]) == weak["version"]
    rolled = _dlops(project_env, "rollback", "mlp")
    assert rolled.returncode == 0, rolled.stderr
    rollback_report = Path(rolled.stdout.split("promotion report: ")[1].strip())
    assert "rollback" in rollback_report.read_text()
    assert str(registry_state("dlops-mlp")["aliases"]["champion"]) == "1"

    ledger = _ledger(project_env)
    assert ledger[: len(after_gate)] == after_gate
    assert [e["action"] for e in ledger[-2:]] == ["force-promote", "rollback"]
    assert "canary on purpose" in ledger[-2]["reason"]
    assert ledger[-1]["champion_before"] == weak["version"] and ledger[-1]["champion_after"] == "1"
    text = _dlops(project_env, "history", "mlp")
    assert "force-promote" in text.stdout and "rollback" in text.stdout
    nothing = _dlops(project_env, "rollback", "mlp")  # v1 was the first champion
    assert nothing.returncode != 0 and "no earlier champion" in nothing.stderr
    unknown = _dlops(project_env, "promote", "mlp", "--version", "999")
    assert unknown.returncode != 0 and "no version 999" in unknown.stderr
    assert _ledger(project_env) == ledger


def test_unfinished_runs_are_never_registered(first_run):
    from components.project import DlopsError
    from components.registry.versions import register
    from components.tracking.runs import client

    run = client().create_run(client().get_run(first_run["outcome"]["run_id"]).info.experiment_id)
    with pytest.raises(DlopsError, match="only finished runs are registered"):
        register("dlops-mlp", "models:/none", run.info.run_id, {})
    client().set_terminated(run.info.run_id, "FAILED")
    with pytest.raises(DlopsError, match="FAILED"):
        register("dlops-mlp", "models:/none", run.info.run_id, {})


@pytest.mark.parametrize("where", ["opening the run", "evaluation"])
def test_the_flow_ends_its_run_failed_when_a_step_fails(first_run, monkeypatch, where):
    """The flow owns the training run: a step that fails once it is open ends it FAILED."""
    from components.project import DlopsError
    from components.tracking import runs
    from components.tracking.runs import client
    from pipelines import steps
    from pipelines.training import training_pipeline

    def broken(*args, **kwargs):
        raise DlopsError(f"{where} broke")

    before = registry_state("dlops-mlp")
    known = {r.info.run_id for r in training_runs("mlp")}
    if where == "evaluation":
        monkeypatch.setattr(steps, "evaluate_run", broken)
    else:  # after the run was created, before its id reached the flow
        monkeypatch.setattr(runs, "log_dataset", broken)
    [outcome] = training_pipeline(families=["mlp"], config=first_run["config"])
    assert outcome["status"] == "failed" and outcome["message"] == f"{where} broke"
    [new] = [r for r in training_runs("mlp") if r.info.run_id not in known]
    run = client().get_run(new.info.run_id)
    assert run.info.status == "FAILED" and "dlops.outcome" not in run.data.tags
    assert registry_state("dlops-mlp") == before  # nothing registered, no alias moved


def test_users_own_csv(first_run, project, tmp_path):
    from pipelines.training import training_pipeline

    rows = 120
    frame = pd.DataFrame(
        {  # the species shows in the height; weight and age are noise
            "height": [10.0 * (i % 3) + (i % 7) / 10 for i in range(rows)],
            "weight": [float((i * 7) % 23) for i in range(rows)],
            "age": [float(i % 5) for i in range(rows)],
            "species": ["cat", "dog", "fox"] * (rows // 3),
        }
    )
    path = tmp_path / "animals.csv"
    frame.to_csv(path, index=False)
    builtin = (project.data / "mlp" / "data.csv").read_bytes(), registry_state("dlops-mlp")
    learns = ["train.learning_rate=0.05", "train.epochs=40"]
    [outcome] = training_pipeline(
        families=["mlp"],
        config=first_run["config"],
        overrides=[
            f"data.source=csv:{path}",
            "data.target=species",
            "registry.model_name=animals",
            *learns,
        ],
    )
    assert outcome["status"] == "ok", outcome["message"]
    assert outcome["decision"] == "promoted", outcome["reason"]  # better than guessing
    assert outcome["metrics"]["test_accuracy"] > outcome["metrics"]["test_majority_accuracy"]
    assert outcome["data_version"] != first_run["outcome"]["data_version"]
    assert (project.data / "animals" / "data.csv").read_bytes() == path.read_bytes()
    assert registry_state("animals")["aliases"]["champion"] in (1, "1")
    # the same file without a name: a model named for the file, never the built-in one
    [named] = training_pipeline(
        families=["mlp"],
        config=first_run["config"],
        overrides=[f"data.source=csv:{path}", "data.target=species", *learns],
    )
    assert named["model_name"] == "dlops-mlp-animals" and named["decision"] == "promoted"
    assert named["data_version"] == outcome["data_version"]  # the same files, the same md5
    assert (project.data / "mlp" / "data.csv").read_bytes() == builtin[0]
    assert registry_state("dlops-mlp") == builtin[1]
    assert len(training_runs("mlp")) >= 3


@pytest.fixture(scope="module")
def served(first_run, project_env):
    """A real `bentoml serve` process on the champion's BentoML model."""
    with bentoml_serve("mlp", store_tag("dlops-mlp"), project_env) as url:
        yield url


def test_service_answers_with_lineage(served, first_run):
    import httpx

    from components.kinds.tabular_classification.data import breast_cancer

    frame = breast_cancer()
    rows = frame.drop(columns="target").head(4).to_numpy().tolist()
    response = httpx.post(f"{served}/predict", json={"rows": rows}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "1"
    assert body["data_version"] == first_run["outcome"]["data_version"]
    assert_lineage(body, "mlp")
    assert len(body["predictions"]) == 4
    for prediction in body["predictions"]:  # the built-in labels are served by name
        assert prediction["class"] in ("malignant", "benign")
        assert set(prediction["probabilities"]) == {"malignant", "benign"}
        assert sum(prediction["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    records = frame.drop(columns="target").head(2).to_dict(orient="records")
    by_name = httpx.post(f"{served}/predict", json={"records": records}, timeout=10)
    assert by_name.status_code == 200
    for named, positional in zip(by_name.json()["predictions"], body["predictions"], strict=False):
        assert named["class"] == positional["class"]
        assert named["probabilities"] == pytest.approx(positional["probabilities"], abs=1e-5)
    for probe in ("readyz", "livez", "metrics"):
        assert httpx.get(f"{served}/{probe}", timeout=5).status_code == 200


MALFORMED = [
    ('{"rows": "abc"}', "rows: Input should be a valid array"),
    ('{"rows": [[1, 2, 3]]}', "must have exactly 30 numbers"),
    ('{"rows": [[NaN' + ", 1" * 29 + "]]}", "rows[0][0]: Input should be a finite number"),
    ('{"rows": []}', "rows: List should have at least 1 item"),
    (
        '{"rows": [' + ",".join(["[" + ",".join(["1"] * 30) + "]"] * 1025) + "]}",
        "exceeds the limit",
    ),
    (
        '{"rows": [[' + ",".join(["1"] * 30) + ']], "extra": 1}',
        "extra: Extra inputs are not permitted",
    ),
    ('{"records": [{"mean_radius": 1}]}', "records[0]: missing features"),
    ('{"rows": [["1"' + ", 1" * 29 + "]]}", "rows[0][0]: Input should be a valid number"),
    ("{not json", "Invalid JSON"),
    ("{}", "send exactly one of `rows` or `records`"),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_malformed_requests_get_4xx(served, body, message):
    import httpx

    response = httpx.post(
        f"{served}/predict", content=body, headers={"content-type": "application/json"}, timeout=10
    )
    assert 400 <= response.status_code < 500, (message, response.status_code, response.text)
    error = response.json()
    assert message in error["error"] and "IODescriptor" not in response.text
    assert_lineage(error, "mlp")


def test_service_in_process(first_run):
    """The same service through its ASGI app: answers, errors in the request's terms, metadata."""
    from components.kinds.tabular_classification.data import breast_cancer

    rows = breast_cancer().drop(columns="target").head(3).to_numpy().tolist()
    with asgi_client("mlp", store_tag("dlops-mlp")) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        body = client.post("/predict", json={"rows": rows}).json()
        assert [p["class"] for p in body["predictions"]] != [] and len(body["predictions"]) == 3
        assert_lineage(body, "mlp")
        for request, message in MALFORMED:
            response = client.post(
                "/predict", content=request, headers={"content-type": "application/json"}
            )
            assert 400 <= response.status_code < 500 and message in response.json()["error"]
        metadata = client.post("/metadata").json()
        assert metadata["classes"] == ["malignant", "benign"] and metadata["labels"] == [0, 1]
        assert len(metadata["features"]) == 30
        assert client.get("/readyz").status_code == 200


def test_cli_status_and_data_status(first_run, project_env):
    env = {**os.environ, **project_env}
    status = subprocess.run(
        [DLOPS, "status", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr
    [mlp] = [row for row in json.loads(status.stdout) if row["model_name"] == "dlops-mlp"]
    assert mlp["champion_version"] == "1"
    assert mlp["data_version"] == first_run["outcome"]["data_version"]
    assert mlp["champion_metric"] == pytest.approx(first_run["outcome"]["metrics"]["test_accuracy"])
    data = subprocess.run(
        [DLOPS, "data", "status"], env=env, capture_output=True, text=True, timeout=120
    )
    assert data.returncode == 0 and "clean" in data.stdout


def test_dvc_status_clean_from_the_command_line(first_run, project):
    dvc = str(Path(sys.executable).parent / "dvc")
    result = subprocess.run(
        [dvc, "status"], cwd=project.root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    assert "up to date" in result.stdout.lower() or not result.stdout.strip()
    shutil.rmtree(project.data / "mlp")
    result = subprocess.run(
        [DLOPS, "data", "status"], env={**os.environ}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "differs" in result.stdout
    subprocess.run([dvc, "checkout", "-q"], cwd=project.root, check=True, timeout=120)
