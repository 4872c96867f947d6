"""The text family through the flow on a user's own CSV (the quick start), served by /classify;
corrupted text files refused at the gate with the failing column named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.pipeline_helpers import asgi_client, fuzz

TOPICS = {
    "animal": ["a dog barks at night", "the cat purrs softly", "a bird sings at dawn"],
    "food": ["sweet fruit with red skin", "bread baked with flour", "a soup of beans"],
    "weather": ["heavy rain and strong wind", "a sunny and dry day", "snow falls in winter"],
}
TINY = [
    "train.epochs=12",
    "train.learning_rate=0.01",
    "train.progress=false",
    "model.vocab_size=300",
    "model.embedding_dim=16",
    "model.hidden_size=16",
]


def sentences(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Short texts of three topics, each made distinct by a numbered filler."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        topic = list(TOPICS)[i % 3]
        base = TOPICS[topic][int(rng.integers(3))]
        rows.append({"sentence": f"note {i}: {base}", "topic": topic})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def text_run(project, prefect_server, tmp_path_factory):
    from pipelines.training import training_pipeline

    path = tmp_path_factory.mktemp("text") / "notes.csv"
    sentences().to_csv(path, index=False)
    overrides = [f"data.source=csv:{path}", "data.text=sentence", "data.target=topic", *TINY]
    [outcome] = training_pipeline(families=["text"], overrides=overrides)
    assert outcome["status"] == "ok", outcome["message"]
    return outcome


def test_own_text_csv_trains_through_the_quick_start(text_run):
    assert text_run["model_name"] == "dlops-text-notes" and text_run["decision"] == "promoted"
    metrics = text_run["metrics"]
    assert metrics["test_accuracy"] >= metrics["test_majority_accuracy"] + 0.3
    assert 0 < metrics["test_tfidf_accuracy"] <= 1  # the baseline beside it


def test_classify_answers_and_refuses(text_run):
    from components.packaging import bento
    from components.registry.versions import version_settings

    settings = version_settings(text_run["model_name"], text_run["champion"])
    with asgi_client("text", bento.import_version(settings, text_run["champion"])) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        ok = client.post("/classify", json={"texts": ["the cat purrs softly", "ünï 文字 🙂"]})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model_name"] == "dlops-text-notes" and len(body["predictions"]) == 2
        assert set(body["predictions"][0]["probabilities"]) == set(TOPICS)
        for bad in ({"texts": []}, {"texts": ["  "]}, {"texts": [1]}, {"text": ["x"]}):
            refused = client.post("/classify", json=bad)
            assert 400 <= refused.status_code < 500 and "error" in refused.json(), bad
        too_many = client.post("/classify", json={"texts": ["a"] * 257})
        assert too_many.status_code == 413


CORRUPT = {
    "blank text": (lambda f: f.assign(sentence=f["sentence"].where(f.index != 3, "   ")), "blank"),
    "duplicate text": (
        lambda f: f.assign(sentence=f["sentence"].where(f.index != 5, f["sentence"][4].upper())),
        "normalised",
    ),
    "missing label": (lambda f: f.assign(topic=f["topic"].where(f.index != 6, None)), "label"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupted_text_is_refused_by_column(case, project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.gx_runner import summarise
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate(
        {"family": "text", "data": {"source": "csv:x.csv", "text": "sentence", "target": "topic"}}
    )
    corrupt, column = CORRUPT[case]
    corrupt(sentences()).to_csv(tmp_path / "data.csv", index=False)
    report = validate_folder(project, settings, tmp_path)
    assert not report.success
    assert f"column '{column}'" in "\n".join(summarise(report.failures))


def test_undecodable_or_columnless_files_are_refused(project, tmp_path):
    from components.settings import FamilySettings
    from components.validation.validate import validate_folder

    settings = FamilySettings.model_validate(
        {"family": "text", "data": {"source": "csv:x.csv", "text": "sentence", "target": "topic"}}
    )
    (tmp_path / "data.csv").write_bytes(b"sentence,topic\n\xff\xfe bad bytes,animal\n")
    assert "expect_file_to_be_utf8" in validate_folder(project, settings, tmp_path).failures[0]
    (tmp_path / "data.csv").write_text("words,topic\nhello,animal\n")
    report = validate_folder(project, settings, tmp_path)
    assert "expect_column_to_exist(sentence)" in report.failures[0]


def test_a_real_bentoml_serve_classifies_over_http(text_run, project_env, project):
    import httpx

    from components.packaging import bento
    from components.registry.versions import version_settings
    from tests.pipeline_helpers import bentoml_serve, served_drift

    settings = version_settings(text_run["model_name"], text_run["champion"])
    tag = bento.import_version(settings, text_run["champion"])
    env = {**project_env, "DLOPS_INPUT_LOG": str(project.served)}
    with bentoml_serve("text", tag, env) as url:
        texts = {"texts": ["snow falls in winter", *(f"rain on day {i}" for i in range(9))]}
        ok = httpx.post(f"{url}/classify", json=texts, timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json()["predictions"][0]["class"] in TOPICS
        assert ok.json()["model_version"] == text_run["champion"]
        for bad in ({"texts": [""]}, {"texts": "one"}, b"{not json"):
            sent = {"content": bad} if isinstance(bad, bytes) else {"json": bad}
            refused = httpx.post(f"{url}/classify", timeout=30, **sent)
            assert 400 <= refused.status_code < 500, (bad, refused.text)
        check = served_drift(project, text_run["model_name"], text_run["champion"], rows=10)
        assert check["method"].startswith("MMD on the champion's penultimate features")
        assert {t["feature"] for t in check["tests"]} == {"characters", "words", "predicted_label"}
