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
