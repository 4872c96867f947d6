"""The seq2seq family through the flow on a user's own TSV (the quick start), served by
/translate; corrupted sentence pairs refused at the gate with the failing column named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.pipeline_helpers import asgi_client, fuzz

WORDS = {
    "eins": "one", "zwei": "two", "drei": "three", "vier": "four", "fünf": "five",
    "rot": "red", "blau": "blue", "grün": "green", "haus": "house", "baum": "tree",
}  # fmt: skip
TINY = [
    "train.epochs=20",
    "train.learning_rate=0.01",
    "train.progress=false",
    "model.vocab_size=120",
    "model.embedding_dim=24",
    "model.hidden_size=48",
]


def pairs(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A toy language: 2-5 distinct-per-row words, translated word by word."""
    rng = np.random.default_rng(seed)
    german, rows, seen = list(WORDS), [], set()
    while len(rows) < n:
        chosen = [german[i] for i in rng.integers(0, len(german), rng.integers(2, 6))]
        source = " ".join(chosen)
        if source not in seen:
            seen.add(source)
            rows.append({"de": source, "en": " ".join(WORDS[w] for w in chosen)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def seq2seq_run(project, prefect_server, tmp_path_factory):
    from pipelines.training import training_pipeline

    path = tmp_path_factory.mktemp("seq2seq") / "phrases.tsv"
    pairs().to_csv(path, index=False, sep="\t")
    overrides = [f"data.source=csv:{path}", "data.text=de", "data.target=en", *TINY]
    [outcome] = training_pipeline(families=["seq2seq"], overrides=overrides)
    assert outcome["status"] == "ok", outcome["message"]
    return outcome


def test_own_tsv_trains_through_the_quick_start(seq2seq_run):
    assert seq2seq_run["model_name"] == "dlops-seq2seq-phrases"
    assert seq2seq_run["decision"] == "promoted"
    metrics = seq2seq_run["metrics"]
    assert metrics["test_chrf"] > metrics["test_copy_chrf"] + 20  # the gate's floor, and more
    assert "test_dictionary_chrf" not in metrics  # a user's data has no dictionary
    assert "beats every baseline" in seq2seq_run["verdict"]


def test_translate_answers_and_refuses(seq2seq_run):
    from components.packaging import bento
    from components.registry.versions import version_settings

    settings = version_settings(seq2seq_run["model_name"], seq2seq_run["champion"])
    with asgi_client("seq2seq", bento.import_version(settings, seq2seq_run["champion"])) as client:
        assert fuzz(client) > 0  # no 5xx, whatever arrives
        ok = client.post("/translate", json={"texts": ["rot haus", "ünï 文字 🙂"], "beam": 3})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model_name"] == "dlops-seq2seq-phrases" and body["beam"] == 3
        assert len(body["translations"]) == 2 and not body["translations"][0]["truncated"]
        long = client.post("/translate", json={"texts": ["eins zwei " * 40]})
        assert long.status_code == 200 and long.json()["translations"][0]["truncated"]
        for bad in ({"texts": []}, {"texts": ["  "]}, {"texts": [1]}, {"texts": ["a"], "beam": 9}):
            refused = client.post("/translate", json=bad)
            assert 400 <= refused.status_code < 500 and "error" in refused.json(), bad
        too_many = client.post("/translate", json={"texts": ["eins"] * 65})
        assert too_many.status_code == 413


CORRUPT = {
    "blank side": (lambda f: f.assign(en=f["en"].where(f.index != 3, " ")), "blank"),
    "runaway target": (
        lambda f: f.assign(en=f["en"].where(f.index != 4, "one " * 100)),
        "ratio",
    ),
    "copies": (lambda f: f.assign(en=f["en"].where(f.index > 8, f["de"])), "copy"),
    "duplicate source": (
        lambda f: f.assign(de=f["de"].where(f.index != 5, f["de"][6].upper())),
        "normalised_source",
    ),
}


def _settings():
    from components.settings import FamilySettings

    return FamilySettings.model_validate(
        {"family": "seq2seq", "data": {"source": "csv:x.csv", "text": "de", "target": "en"}}
    )


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupted_pairs_are_refused_by_column(case, project, tmp_path):
    from components.validation.gx_runner import summarise
    from components.validation.validate import validate_folder

    corrupt, column = CORRUPT[case]
    corrupt(pairs(200)).to_csv(tmp_path / "data.csv", index=False)
    report = validate_folder(project, _settings(), tmp_path)
    assert not report.success
    assert f"column '{column}'" in "\n".join(summarise(report.failures))


def test_undecodable_or_columnless_files_are_refused(project, tmp_path):
    from components.validation.validate import validate_folder

    (tmp_path / "data.csv").write_bytes(b"de,en\n\xff\xfe bad bytes,one\n")
    assert "expect_file_to_be_utf8" in validate_folder(project, _settings(), tmp_path).failures[0]
    (tmp_path / "data.csv").write_text("german\tenglish\neins\tone\n")
    report = validate_folder(project, _settings(), tmp_path)
    assert "expect_column_to_exist(de, en)" in report.failures[0]


def test_a_real_bentoml_serve_translates_over_http(seq2seq_run, project_env):
    import httpx

    from components.packaging import bento
    from components.registry.versions import version_settings
    from tests.pipeline_helpers import bentoml_serve

    settings = version_settings(seq2seq_run["model_name"], seq2seq_run["champion"])
    tag = bento.import_version(settings, seq2seq_run["champion"])
    with bentoml_serve("seq2seq", tag, project_env) as url:
        ok = httpx.post(f"{url}/translate", json={"texts": ["zwei baum"]}, timeout=30)
        assert ok.status_code == 200, ok.text
        assert ok.json()["translations"][0]["translation"] == "two tree"
        assert ok.json()["model_version"] == seq2seq_run["champion"]
        for bad in ({"texts": [""]}, {"texts": "eins"}, b"{not json"):
            sent = {"content": bad} if isinstance(bad, bytes) else {"json": bad}
            refused = httpx.post(f"{url}/translate", timeout=30, **sent)
            assert 400 <= refused.status_code < 500, (bad, refused.text)
