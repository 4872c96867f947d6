"""Shadow reports: what two models' answers agree on, and the summary of a shadow log."""

import math

import pytest


def record(champion="3", challenger="4", status=200, items=2, agree=2, ms=(10.0, 12.0)):
    return {
        "champion": champion, "challenger": challenger, "status": status, "items": items,
        "agree": agree, "champion_ms": ms[0], "challenger_ms": ms[1], "model_name": "m",
    }  # fmt: skip


def test_answers_reduce_to_what_two_models_may_agree_on():
    from serving.common import answers_of

    classified = {
        "predictions": [{"class": "a", "probabilities": {"a": 0.9}}],
        "model_version": "1",
    }
    assert answers_of(classified) == ["a"]
    assert answers_of({"translations": [{"translation": "hi", "truncated": False}]}) == ["hi"]
    assert answers_of({"transcripts": [{"text": "four two"}]}) == ["four two"]
    found = {"images": [{"width": 8, "height": 8, "detections": [{"label": "b"}, {"label": "a"}]}]}
    assert answers_of(found) == [["a", "b"]]
    assert answers_of({"actions": [1, 0]}) == [1, 0]
    assert answers_of({"error": "x"}) is None and answers_of(None) is None


def test_summary_takes_the_latest_pair_and_counts_agreement_failures_and_latency():
    from components.registry.shadow import summarise

    records = [
        record(champion="2", challenger="3", agree=0),  # an earlier pair: not counted
        record(agree=2),
        record(agree=1, ms=(20.0, 30.0)),
        record(status=500, items=None, agree=None, ms=(5.0, 1.0)),
    ]
    summary = summarise(records, "m")
    assert (summary.champion, summary.challenger) == ("3", "4")
    assert summary.requests == 3 and summary.failed == 1 and summary.items == 4
    assert summary.agreement == pytest.approx(3 / 4)
    assert summary.challenger_p50_ms == 12.0 and summary.challenger_p95_ms == 30.0
    assert "agreement 75.0%" in summary.line() and "1 failed" in summary.line()


def test_nothing_comparable_is_nan_and_an_empty_log_is_refused():
    from components.project import DlopsError
    from components.registry.shadow import summarise

    summary = summarise([record(items=None, agree=None)], "m")
    assert math.isnan(summary.agreement) and "agreement -" in summary.line()
    with pytest.raises(DlopsError, match="no shadowed requests"):
        summarise([], "m")
