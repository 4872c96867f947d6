"""Data-aware retraining in one process: skip when nothing changed, retrain when anything did,
retry transient failures, never retry bad data, and tell the notification hooks."""

import pytest

from tests.pipeline_helpers import append_rows, registry_state, tiny_config, webhook_receiver

pytestmark = pytest.mark.integration


def skipped_runs(family: str) -> list:
    from components.tracking.runs import client

    experiments = [e.experiment_id for e in client().search_experiments()]
    return client().search_runs(
        experiments, filter_string=f"tags.family = '{family}' and tags.skipped = 'unchanged'"
    )


@pytest.fixture(scope="module")
def hooked(first_run, tmp_path_factory):
    """The tiny config with a webhook to a local server and retries without waiting."""
    with webhook_receiver() as (url, bodies):
        extra = (
            f"  retries: {{attempts: 2, delay_s: 0}}\n  notify: {{webhooks: [{{url: '{url}'}}]}}\n"
        )
        folder = tmp_path_factory.mktemp("hooked")
        config = tiny_config(folder)
        text = config.read_text().replace("pipeline:\n", "pipeline:\n" + extra, 1)
        config.write_text(text)
        yield config, bodies


def retrain(config, *overrides, force=False):
    from pipelines.training import training_pipeline

    [outcome] = training_pipeline(
        families=["mlp"], config=config, overrides=list(overrides), only_if_changed=not force
    )
    return outcome


def test_unchanged_family_is_skipped_and_recorded(hooked, project):
    from components.data.versioning import current_version
    from components.tracking.runs import client

    config, bodies = hooked
    retrain(config)  # the latest success may have used other settings: make this config's run
    before = registry_state("dlops-mlp")
    version = current_version(project, "mlp")
    sent = len(bodies)
    outcome = retrain(config)
    assert outcome["status"] == "skipped", outcome["message"]
    assert registry_state("dlops-mlp") == before and current_version(project, "mlp") == version
    run = client().get_run(outcome["run_id"])
    tags = run.data.tags
    assert run.info.status == "FINISHED" and tags["skipped"] == "unchanged"
    assert tags["data_version"] == version
    last = client().get_run(tags["last_run"]).data.tags
    assert last["fingerprint"] == tags["fingerprint"] and last["dlops.outcome"] == "ok"
    for part in ("data", "config", "code"):
        assert tags[f"fingerprint.{part}"] == last[f"fingerprint.{part}"]
    assert len(bodies) == sent  # a skip is not an event
    from pipelines.summary import model_status

    # what `dlops status` shows
    assert model_status(project, "mlp", "dlops-mlp")["last_check"] == "skipped"


def test_config_change_retrains_and_force_retrains(hooked):
    config, bodies = hooked
    changed = retrain(config, "train.learning_rate=0.002")
    assert changed["status"] == "ok" and changed["version"]
    assert bodies[-1]["event"] in ("promoted", "rejected")
    assert bodies[-1]["version"] == changed["version"]
    assert bodies[-1]["data_version"] == changed["data_version"]
    assert retrain(config, "train.learning_rate=0.002")["status"] == "skipped"
    forced = retrain(config, "train.learning_rate=0.002", force=True)
    assert forced["status"] == "ok" and int(forced["version"]) == int(changed["version"]) + 1


def test_another_familys_new_data_does_not_retrain(hooked, project, tmp_path):
    import shutil

    from components.data import versioning
    from components.kinds.image_classification.data import write_digits
    from components.tracking.runs import client

    config, _ = hooked
    retrain(config)
    # cnn's folder gains an image: a new data version, same mlp files
    staged = tmp_path / "cnn"
    if (project.data / "cnn").is_dir():
        shutil.copytree(project.data / "cnn", staged)
    else:
        write_digits(staged)
    shutil.copyfile(next(staged.glob("0/*.png")), staged / "0" / "extra.png")
    mlp, cnn = (
        versioning.current_version(project, "mlp"),
        versioning.current_version(project, "cnn"),
    )
    assert versioning.commit(project, "cnn", staged) != cnn
    assert versioning.current_version(project, "mlp") == mlp  # each model has its own version
    outcome = retrain(config)
    assert outcome["status"] == "skipped"
    assert client().get_run(outcome["run_id"]).data.tags["data_version"] == mlp


def test_new_rows_retrain_with_a_new_data_version(hooked, project):
    from components.data.versioning import current_version
    from components.tracking.runs import client

    config, bodies = hooked
    retrain(config)
    versions = registry_state("dlops-mlp")["versions"]
    old = current_version(project, "mlp")
    append_rows(project.data / "mlp" / "data.csv")
    outcome = retrain(config)
    assert outcome["status"] == "ok", outcome["message"]
    assert outcome["data_version"] == current_version(project, "mlp") != old
    assert int(outcome["version"]) == max(versions) + 1
    tags = client().get_run(outcome["run_id"]).data.tags
    assert tags["data_version"] == outcome["data_version"] and tags["dlops.outcome"] == "ok"
    from pipelines.summary import model_status

    assert model_status(project, "mlp", "dlops-mlp")["last_check"] == "trained"
    assert bodies[-1]["event"] in ("promoted", "rejected")


def test_transient_failure_is_retried(hooked, project, monkeypatch):
    from components.data import versioning

    config, _ = hooked
    calls = []
    real_commit = versioning.commit

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("remote storage briefly unreachable")
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(versioning, "commit", flaky)
    append_rows(project.data / "mlp" / "data.csv", rows=5)
    outcome = retrain(config)
    assert outcome["status"] == "ok", outcome["message"]
    assert len(calls) == 2


def test_bad_rows_fail_validation_once_and_notify(hooked, project, monkeypatch):
    from components.data.versioning import current_version
    from components.kinds.tabular_classification.kind import TabularClassification

    config, bodies = hooked
    versions = registry_state("dlops-mlp")
    version = current_version(project, "mlp")
    calls = []
    real_suite = TabularClassification.suite

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real_suite(self, *args, **kwargs)

    monkeypatch.setattr(TabularClassification, "suite", counted)
    csv = project.data / "mlp" / "data.csv"
    good = csv.read_bytes()
    csv.write_text(
        csv.read_text() + "not-a-number" + ",1.0" * (good.splitlines()[0].count(b",")) + "\n"
    )
    try:
        outcome = retrain(config)
    finally:
        csv.write_bytes(good)
    assert outcome["status"] == "validation failed"
    assert len(calls) == 1  # bad data is not retried
    assert current_version(project, "mlp") == version and registry_state("dlops-mlp") == versions
    assert bodies[-1]["event"] == "validation_failed" and bodies[-1]["family"] == "mlp"
    assert "validation failed" in bodies[-1]["reason"]


def test_pipeline_killed_before_the_gate_leaves_no_version(hooked, project, first_run):
    """A pipeline process that died between registration and the gate's decision: the next run
    ends its runs as KILLED and deletes the version no gate judged; the champion stays."""
    import socket
    import subprocess

    from components.registry import versions
    from components.tracking import runs
    from components.tracking.runs import client

    config, _ = hooked
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = {
        "dlops.host": socket.gethostname(),
        "dlops.pid": str(dead.pid),
        "dlops.pid_started": "0",
    }
    experiment = runs.ensure_experiment(project, "dlops")
    parent = client().create_run(experiment, tags={"dlops.kind": "pipeline", **owner})
    child = client().create_run(
        experiment,
        tags={
            "dlops.kind": "training",
            "family": "mlp",
            "mlflow.parentRunId": parent.info.run_id,
            **owner,
        },
    )
    client().set_terminated(child.info.run_id, "FINISHED")  # trained and evaluated
    model_uri = client().get_run(first_run["outcome"]["run_id"]).data.tags["model_uri"]
    ungated = versions.register("dlops-mlp", model_uri, child.info.run_id, {"family": "mlp"})
    champion = versions.alias_version("dlops-mlp", versions.CHAMPION)
    assert ungated in [str(v) for v in registry_state("dlops-mlp")["versions"]]

    retrain(config)  # any next run cleans up first

    assert client().get_run(parent.info.run_id).info.status == "KILLED"
    assert client().get_run(child.info.run_id).info.status == "KILLED"
    assert ungated not in [str(v) for v in registry_state("dlops-mlp")["versions"]]
    assert versions.alias_version("dlops-mlp", versions.CHAMPION) == champion
