"""A game agent through the flow on a user's game folder (a reward-shaped CartPole): trained,
gated against a random policy, served by /act and /episode; an unchanged game is skipped, a
changed reward wrapper is a new data version."""

from __future__ import annotations

import json

import pytest

from tests.pipeline_helpers import asgi_client, fuzz

TINY = [
    "model.timesteps=6144",
    "model.eval_every=2048",
    "model.stop_return=null",
    "train.progress=false",
    "gate.limits.test_return=[15, null]",  # returns are halved: 250 at most
]


def shaped_game(folder, scale: float):
    from components.kinds.game_agent import data

    data.write_builtin(folder)
    spec = json.loads((folder / "environment.json").read_text())
    spec["reward"]["scale"] = scale
    (folder / "environment.json").write_text(json.dumps(spec))


def run(folder, only_if_changed: bool = False) -> dict:
    from pipelines.training import training_pipeline

    overrides = [f"data.source=folder:{folder}", *TINY]
    [outcome] = training_pipeline(families=["ppo"], overrides=overrides,
                                  only_if_changed=only_if_changed)  # fmt: skip
    return outcome


@pytest.fixture(scope="module")
def ppo_run(project, prefect_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("game") / "cartpole-half"
    shaped_game(folder, 0.5)
    outcome = run(folder)
    assert outcome["status"] == "ok", outcome["message"]
    return {"outcome": outcome, "folder": folder}


def test_own_game_trains_and_beats_a_random_policy(ppo_run):
    outcome = ppo_run["outcome"]
    metrics = outcome["metrics"]
    assert outcome["model_name"] == "dlops-ppo-cartpole-half"
    assert outcome["decision"] == "promoted"
    assert metrics["test_return"] > 3 * metrics["test_random_return"]
    assert "test_reward_threshold" not in metrics  # shaped rewards: CartPole's 475 does not apply


def test_unchanged_game_is_skipped_and_a_new_reward_wrapper_is_a_new_version(ppo_run):
    first, folder = ppo_run["outcome"], ppo_run["folder"]
    assert run(folder, only_if_changed=True)["status"] == "skipped"
    shaped_game(folder, 0.25)
    changed = run(folder, only_if_changed=True)
    assert changed["status"] == "ok", changed["message"]
    assert changed["data_version"] != first["data_version"]


def test_act_and_episode_answer_and_refuse(ppo_run):
    from components.packaging import bento
    from components.registry.versions import version_settings

    outcome = ppo_run["outcome"]
    settings = version_settings(outcome["model_name"], outcome["champion"])
    with asgi_client("ppo", bento.import_version(settings, outcome["champion"])) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        ok = client.post("/act", json={"observations": [[0.0, 0.1, 0.02, -0.3], [0.1, 0, 0, 0]]})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model_name"] == "dlops-ppo-cartpole-half" and body["deterministic"] is True
        assert len(body["actions"]) == 2 and set(body["actions"]) <= {0, 1}
        sampled = client.post("/act", json={"observations": [[0.0, 0.0, 0.0, 0.0]] * 8,
                                            "deterministic": False, "seed": 3})  # fmt: skip
        again = client.post("/act", json={"observations": [[0.0, 0.0, 0.0, 0.0]] * 8,
                                          "deterministic": False, "seed": 3})  # fmt: skip
        assert sampled.status_code == 200 and sampled.json()["actions"] == again.json()["actions"]
        episode = client.post("/episode", json={"seed": 5})
        assert episode.status_code == 200, episode.text
        assert episode.json()["length"] >= 1 and episode.json()["return"] > 0
        for bad in (
            {"observations": [[0.0, 0.1, 0.02]]},  # too short
            {"observations": [[99.0, 0.0, 0.0, 0.0]]},  # outside the space
            {"observations": [["0", 0.0, 0.0, 0.0]]},  # a string
            {"observations": []},
            {"observations": [[0.0, 0.0, 0.0, 0.0]], "extra": 1},
        ):
            refused = client.post("/act", json=bad)
            assert 400 <= refused.status_code < 500 and "error" in refused.json(), refused.text
        infinite = client.post("/act", content=b'{"observations": [[Infinity, 0, 0, 0]]}',
                               headers={"content-type": "application/json"})  # fmt: skip
        assert 400 <= infinite.status_code < 500, infinite.text
        for bad in ({"seed": -1}, {"seed": "x"}, {"seed": 2**40}, {}):
            refused = client.post("/episode", json=bad)
            assert 400 <= refused.status_code < 500, refused.text


def test_a_real_bentoml_serve_acts_over_http(ppo_run, project_env, project):
    import httpx

    from components.packaging import bento
    from components.registry.versions import version_settings
    from tests.pipeline_helpers import bentoml_serve, served_drift

    outcome = ppo_run["outcome"]
    settings = version_settings(outcome["model_name"], outcome["champion"])
    tag = bento.import_version(settings, outcome["champion"])
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    with bentoml_serve("ppo", tag, env) as url:
        observations = [[0.01 * i, 0.0, -0.01 * i, 0.0] for i in range(10)]
        ok = httpx.post(f"{url}/act", json={"observations": observations}, timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json()["model_version"] == outcome["champion"]
        refused = httpx.post(f"{url}/act", json={"observations": [[1e9, 0, 0, 0]]}, timeout=30)
        assert refused.status_code == 422, refused.text
        check = served_drift(project, outcome["model_name"], outcome["champion"], rows=10)
        assert [t["feature"] for t in check["tests"]] != [] and check["method"].startswith("per")
