"""The translation kind's pieces: the Ding extract, chrF as the gate resamples it, the
word-by-word baseline."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.kinds.translation import data, metrics
from components.runtime.stats import CorpusStats, paired_bootstrap

DING = """\
# Version :: test
# License :: GPL Version 2 or later; GNU General Public License
Haus {n} | Häuser {pl} | Das Haus ist groß. :: house | houses | The house is big.
Gebäude {n}; Haus {n} :: building
es {ppron} (seiner; ihm; es) | es ist :: it | it is
klein {adj} | Er ist klein. | Er ist klein. :: small | He is small. | He is short.
Wir gehen. | Das ist es (ugs.). :: We are going. | That's it.
Sehr gut! :: Very good!
Hallo Welt! :: Hallo Welt!
"""


@pytest.fixture
def ding(tmp_path):
    path = tmp_path / "de-en"
    path.write_text(DING, encoding="utf-8")
    return data.ding_entries(path)


def test_ding_sentences_are_pairs_of_first_alternatives(ding):
    pairs, _ = ding
    found = dict(zip(pairs["source"], pairs["target"], strict=True))
    assert found["Das Haus ist groß."] == "The house is big."
    assert found["Wir gehen."] == "We are going." and found["Sehr gut!"] == "Very good!"
    assert "Er ist klein." not in found  # one source, two translations: could leak, dropped
    assert "Hallo Welt!" not in found  # a copy teaches nothing
    assert not any("(" in s for s in found)  # annotated sentences are left out


def test_ding_dictionary_prefers_the_headword(ding):
    _, dictionary = ding
    words = dict(zip(dictionary["source"], dictionary["target"], strict=True))
    assert words["Haus"] == "house"  # its own article wins over "Gebäude; Haus :: building"
    assert words["Häuser"] == "houses" and words["es"] == "it" and words["klein"] == "small"


def test_a_missing_ding_file_names_the_package(tmp_path):
    from components.project import DlopsError

    with pytest.raises(DlopsError, match="trans-de-en"):
        data.ding_entries(tmp_path / "absent")


def test_word_by_word_keeps_unknown_words_and_punctuation():
    words = {"es": "it", "ist": "is", "klein": "small"}
    assert metrics.word_by_word("Es ist klein, Herr Schmidt!", words) == (
        "It is small, Herr Schmidt!"
    )


SENTENCES = st.lists(st.text(alphabet="abc de.", min_size=0, max_size=30), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(SENTENCES, SENTENCES)
def test_summed_counts_give_sacrebleu_corpus_chrf(hypotheses, references):
    from sacrebleu.metrics import CHRF

    n = min(len(hypotheses), len(references))
    hypotheses, references = hypotheses[:n], references[:n]
    stats = metrics.sentence_stats(hypotheses, references)
    expected = CHRF().corpus_score(hypotheses, [references]).score
    assert metrics.chrf_from_stats(stats.sum(axis=0))[0] == pytest.approx(expected, abs=1e-9)


def test_the_gate_resamples_chrf_by_sentence():
    rng = np.random.default_rng(0)
    references = [
        " ".join(rng.choice(["the", "cat", "sat", "on", "a", "mat"], 6)) for _ in range(80)
    ]
    good = [r if i % 4 else r.upper() for i, r in enumerate(references)]  # right 3 times in 4
    poor = [r if i % 2 else "x" for i, r in enumerate(references)]  # right every other time
    scored = {
        name: CorpusStats(metrics.sentence_stats(h, references), metrics.chrf_from_stats)
        for name, h in (("good", good), ("poor", poor))
    }
    assert scored["good"].metric() == pytest.approx(metrics.corpus_scores(good, references)["chrf"])
    better = paired_bootstrap(scored["good"], scored["poor"], higher_is_better=True, resamples=500)
    assert better.low > 0 and better.improvement == pytest.approx(
        scored["good"].metric() - scored["poor"].metric()
    )
    same = paired_bootstrap(scored["good"], scored["good"], higher_is_better=True, resamples=200)
    assert same.low == same.high == 0


def test_a_tsv_keeps_its_quotation_marks_and_a_bom_is_not_a_name(tmp_path):
    (tmp_path / "data.csv").write_text(
        '\ufeffde\ten\n"Ich komme", sagte er.\t"I am coming," he said.\n', encoding="utf-8"
    )
    frame = data.read_pairs(tmp_path)
    assert list(frame.columns) == ["de", "en"]
    assert frame["de"][0] == '"Ich komme", sagte er.'


def test_chrf_counts_need_one_hypothesis_per_reference():
    with pytest.raises(ValueError, match="one per reference"):
        metrics.sentence_stats(["a"], ["a", "b"])


def _pairs_settings(source: str, **pairs):
    from components.settings import FamilySettings

    return FamilySettings.model_validate(
        {
            "family": "seq2seq",
            "data": {
                "source": source,
                "text": "de",
                "target": "en",
                "min_rows": 20,
                "pairs": {"builtin_max_source_words": 6, **pairs},
            },  # fmt: skip
            "model": {"vocab_size": 100, "max_source_tokens": 24, "max_target_tokens": 24},
        }
    )


def test_the_word_cap_is_the_built_in_data_s_and_overlong_pairs_do_not_train(tmp_path):
    from components.kinds.translation.kind import Translation
    from components.project import DlopsError

    rows = [
        (f"eins zwei drei vier fünf sechs sieben acht {i}", f"one two three {i}") for i in range(60)
    ]
    rows[0] = (" ".join(["lang"] * 40), "long")  # more source tokens than the model reads
    frame = data.pd.DataFrame(rows, columns=["de", "en"])
    frame.to_csv(tmp_path / "data.csv", index=False)
    split = Translation().load_split(tmp_path, _pairs_settings("csv:pairs.csv"))
    assert split.params["data.pairs.used"] == "60"  # a user's 9-word pairs are all used
    trained = [*split.arrays("train")[0], *split.arrays("validation")[0]]
    assert split.params["data.pairs.over_token_limits"] == str(
        int(rows[0][0] not in split.arrays("test")[0])
    )
    assert rows[0][0] not in trained
    with pytest.raises(DlopsError, match="builtin_max_source_words"):
        Translation().load_split(tmp_path, _pairs_settings("builtin"))


def test_a_translator_that_only_copies_is_refused_as_guessing():
    from components.registry.gate import decide
    from components.settings import GateSettings

    references = [f"the house number {i} is big" for i in range(60)]
    sources = [f"das Haus Nummer {i} ist groß" for i in range(60)]
    copy = CorpusStats(metrics.sentence_stats(sources, references), metrics.chrf_from_stats,
                       name="copying the source unchanged")  # fmt: skip
    also_copying = CorpusStats(copy.stats.copy(), metrics.chrf_from_stats)
    gate = GateSettings(metric="test_chrf", resamples=200)
    decision = decide(copy.metric(), None, gate, baseline=(also_copying, copy))
    assert not decision.promote and "copying the source unchanged" in decision.reason
