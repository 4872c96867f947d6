"""The promotion gate decides on the same test split's metric, never on stale numbers."""

from hypothesis import given
from hypothesis import strategies as st

from components.registry.gate import decide
from components.settings import GateSettings

scores = st.floats(min_value=0, max_value=1, allow_nan=False)


def test_first_model_becomes_champion():
    decision = decide(0.5, None, GateSettings())
    assert decision.promote and "first" in decision.reason


def test_better_is_promoted_and_equal_is_not():
    assert decide(0.91, 0.90, GateSettings()).promote
    assert not decide(0.90, 0.90, GateSettings()).promote


def test_lower_is_better_metrics():
    gate = GateSettings(metric="test_mase", higher_is_better=False)
    assert decide(0.8, 0.9, gate).promote
    assert not decide(0.95, 0.9, gate).promote


@given(champion=scores, gap=st.floats(min_value=0, max_value=1, allow_nan=False))
def test_worse_or_equal_never_promoted(champion, gap):
    assert not decide(champion - gap, champion, GateSettings()).promote


@given(champion=scores, margin=st.floats(min_value=0, max_value=0.5), gain=scores)
def test_promoted_only_beyond_the_margin(champion, margin, gain):
    gate = GateSettings(min_improvement=margin)
    decision = decide(champion + gain, champion, gate)
    assert decision.promote == ((champion + gain) - champion > margin)
