"""A running service follows its champion alias: switches under load, refuses a broken one."""

import json
import threading
import time
from pathlib import Path

import pytest

from tests.pipeline_helpers import assert_lineage, bentoml_serve, store_tag

pytestmark = pytest.mark.integration
NAME = "dlops-mlp"
CLIENTS = 16
MOVES = 10
POLL_S = 0.3


@pytest.fixture
def two_versions(first_run, tmp_path):
    """The champion and a second version of it (a copy of its run's model, registered anew:
    this machine's BentoML store lacks it, so the service fetches it from the registry), and a
    broken version whose files hold no model. Removed again after the test, alias restored."""
    from mlflow import MlflowClient

    client = MlflowClient()
    champion = client.get_model_version_by_alias(NAME, "champion")
    copy = client.create_model_version(
        NAME, champion.source, champion.run_id, tags=dict(champion.tags)
    )
    broken_dir = tmp_path / "broken"
    (broken_dir / "artifacts" / "model").mkdir(parents=True)
    (broken_dir / "artifacts" / "model" / "card.json").write_text("{}")
    broken = client.create_model_version(
        NAME, str(broken_dir), champion.run_id, tags=dict(champion.tags)
    )
    try:
        yield client, str(champion.version), str(copy.version), str(broken.version)
    finally:
        client.set_registered_model_alias(NAME, "champion", champion.version)
        client.delete_model_version(NAME, broken.version)
        client.delete_model_version(NAME, copy.version)


def test_service_switches_to_each_champion_under_load(two_versions, project_env, tmp_path):
    import httpx

    from components.kinds.tabular_classification.data import breast_cancer

    client, first, second, broken = two_versions
    rows = breast_cancer().drop(columns="target").head(2).to_numpy().tolist()
    env = {
        **project_env,
        "DLOPS_FOLLOW": "champion",
        "DLOPS_MODEL_NAME": NAME,
        "DLOPS_POLL_SECONDS": str(POLL_S),
        "DLOPS_MODEL_CACHE": str(tmp_path / "cache"),
    }
    answered: list[tuple[float, str]] = []  # (time sent, version) of every 200
    failed: list[str] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    response = http.post(f"{url}/predict", json={"rows": rows})
                except httpx.HTTPError as exc:
                    failed.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failed.append(f"{response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                assert_lineage(body, "mlp")
                answered.append((sent, body["model_version"]))

    switch_s = []
    with bentoml_serve("mlp", store_tag(NAME, first), env) as url:
        clients = [threading.Thread(target=load, args=(url,)) for _ in range(CLIENTS)]
        for thread in clients:
            thread.start()
        try:
            for move in range(MOVES):
                target = second if move % 2 == 0 else first
                moved = time.monotonic()
                client.set_registered_model_alias(NAME, "champion", target)
                deadline = moved + 60
                # switched: a request sent after the move was answered by the target
                while not any(t > moved and v == target for t, v in answered[-CLIENTS * 4 :]):
                    assert time.monotonic() < deadline, f"no switch to v{target} in 60 s"
                    time.sleep(0.05)
                switch_s.append(time.monotonic() - moved)
            # a version that does not load is not switched to: the old one keeps answering
            client.set_registered_model_alias(NAME, "champion", broken)
            time.sleep(POLL_S * 10)
            metadata = httpx.post(f"{url}/metadata", timeout=10).json()
            exposed = httpx.get(f"{url}/metrics", timeout=10).text
        finally:
            stop.set()
            for thread in clients:
                thread.join(timeout=60)
    assert failed == [], failed[:5]
    assert len(answered) > MOVES * CLIENTS
    assert {v for _, v in answered} == {first, second}  # never the broken one
    assert answered[-1][1] == first and metadata["model_version"] == first
    assert metadata["follows"] == "champion" and metadata["switches"] == MOVES
    assert max(switch_s) < 30, switch_s
    # Prometheus: answers by the version that gave them, the switches and the refusal
    assert f'dlops_model_switches_total{{model="{NAME}"}} {float(MOVES)}' in exposed
    assert f'dlops_model_refusals_total{{model="{NAME}"}} 1.0' in exposed
    for version in (first, second):
        assert f'endpoint="/predict",model="{NAME}",status="200",version="{version}"' in exposed
    print(json.dumps({"switch_s": [round(s, 2) for s in switch_s], "answers": len(answered)}))


def test_pinned_service_ignores_the_alias(two_versions, project_env):
    """Without DLOPS_FOLLOW (`dlops serve --pin`, a Bento given no tracking URI) nothing moves."""
    import httpx

    client, first, second, _ = two_versions
    env = {**project_env, "DLOPS_FOLLOW": "", "DLOPS_POLL_SECONDS": str(POLL_S)}
    with bentoml_serve("mlp", store_tag(NAME, first), env) as url:
        client.set_registered_model_alias(NAME, "champion", second)
        time.sleep(POLL_S * 10)
        metadata = httpx.post(f"{url}/metadata", timeout=10).json()
    assert metadata["follows"] is None and metadata["switches"] == 0
    assert metadata["model_version"] == first


def test_shadowed_challenger_is_logged_and_reported(two_versions, project, project_env):
    """`dlops serve --shadow`: the challenger answers a sample of live requests off the answer's
    path; `dlops shadow report` makes an MLflow run of it; the promotion report shows it."""
    import subprocess
    import sys
    from types import SimpleNamespace

    import httpx

    from components.kinds.tabular_classification.data import breast_cancer
    from components.registry.report import _shadow_section

    client, first, second, _ = two_versions
    before = client.get_model_version_by_alias(NAME, "challenger").version
    client.set_registered_model_alias(NAME, "challenger", second)
    log = project.work / "shadow" / NAME / "shadow.jsonl"
    log.unlink(missing_ok=True)
    env = {
        **project_env,
        "DLOPS_FOLLOW": "",
        "DLOPS_SHADOW": "challenger",
        "DLOPS_SHADOW_RATE": "1",
        "DLOPS_SHADOW_LOG": str(project.work / "shadow"),
        "DLOPS_POLL_SECONDS": str(POLL_S),
    }
    rows = breast_cancer().drop(columns="target").head(3).to_numpy().tolist()
    try:
        with bentoml_serve("mlp", store_tag(NAME, first), env) as url:
            deadline = time.monotonic() + 60
            while httpx.post(f"{url}/metadata", timeout=10).json()["shadow"] != second:
                assert time.monotonic() < deadline, "the challenger was never loaded"
                time.sleep(0.2)
            for _ in range(12):
                answer = httpx.post(f"{url}/predict", json={"rows": rows}, timeout=10)
                assert answer.status_code == 200 and answer.json()["model_version"] == first
            while not log.is_file() or len(log.read_text().splitlines()) < 12:
                assert time.monotonic() < deadline, "shadowed requests were not logged"
                time.sleep(0.2)
        records = [json.loads(line) for line in log.read_text().splitlines()]
        assert {(r["champion"], r["challenger"], r["status"]) for r in records} == {
            (first, second, 200)
        }
        assert all(r["items"] == 3 and r["agree"] == 3 for r in records)  # the same weights
        dlops = str(Path(sys.executable).parent / "dlops")
        reported = subprocess.run(
            [dlops, "shadow", "report", "mlp", "--model", NAME],
            env=project_env,
            capture_output=True,
            text=True,
        )
        assert reported.returncode == 0, reported.stderr
        assert f"challenger v{second} shadowed champion v{first} on 12 requests" in reported.stdout
        assert "agreement 100.0%" in reported.stdout and "0 failed" in reported.stdout
        section = _shadow_section(SimpleNamespace(model_name=NAME, version=second))
        assert "Shadowed on live requests" in section and "1.0000" in section
    finally:
        client.set_registered_model_alias(NAME, "challenger", before)
