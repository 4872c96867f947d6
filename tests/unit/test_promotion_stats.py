"""The statistical gate and the ledger's champion chain, as properties."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from components.registry.gate import decide
from components.registry.ledger import Entry, champion_chain
from components.runtime.stats import Outcomes, mcnemar_exact, paired_bootstrap
from components.settings import GateSettings

GATE = GateSettings(resamples=500)


def outcomes(correct: np.ndarray) -> Outcomes:
    return Outcomes(correct.astype(float), np.ones(len(correct)), correct.astype(bool))


def decide_paired(challenger: np.ndarray, champion: np.ndarray, gate=GATE):
    a, b = outcomes(challenger), outcomes(champion)
    return decide(a.metric(), b.metric(), gate, paired=(a, b))


examples = st.integers(min_value=20, max_value=400)


@settings(max_examples=40, deadline=None)
@given(n=examples, seed=st.integers(0, 10_000), flips=st.integers(min_value=0, max_value=50))
def test_a_worse_or_equal_challenger_is_never_promoted(n, seed, flips):
    rng = np.random.default_rng(seed)
    champion = rng.random(n) < 0.8
    challenger = champion.copy()
    right = np.flatnonzero(challenger)
    challenger[right[: min(flips, len(right))]] = False  # only ever loses examples
    assert not decide_paired(challenger, champion).promote


@settings(max_examples=40, deadline=None)
@given(n=examples, seed=st.integers(0, 10_000), margin=st.floats(0, 0.3))
def test_better_by_no_more_than_the_margin_is_never_promoted(n, seed, margin):
    rng = np.random.default_rng(seed)
    champion = rng.random(n) < 0.6
    challenger = champion.copy()
    wrong = np.flatnonzero(~challenger)
    gain = int(margin * n)  # an improvement of at most `margin`
    challenger[wrong[:gain]] = True
    gate = GateSettings(resamples=500, min_improvement=margin)
    assert not decide_paired(challenger, champion, gate).promote


@settings(max_examples=25, deadline=None)
@given(n=st.integers(min_value=200, max_value=600), seed=st.integers(0, 10_000))
def test_a_clearly_better_challenger_is_promoted(n, seed):
    rng = np.random.default_rng(seed)
    champion = rng.random(n) < 0.6
    challenger = champion | (rng.random(n) < 0.7)  # fixes most of the champion's mistakes
    decision = decide_paired(challenger, champion)
    assert decision.promote, decision.reason
    assert decision.low > 0 and decision.p_value < 0.01


def test_decisions_are_deterministic_given_the_seed():
    rng = np.random.default_rng(1)
    champion, challenger = rng.random(300) < 0.7, rng.random(300) < 0.75
    first, second = decide_paired(challenger, champion), decide_paired(challenger, champion)
    assert (first.low, first.high, first.p_value) == (second.low, second.high, second.p_value)


def test_ratio_metrics_lower_is_better():
    # MASE-like: model error / naive error per window; the challenger halves every error
    naive = np.full(100, 2.0)
    champion = Outcomes(np.full(100, 1.0) + np.linspace(0, 0.1, 100), naive)
    challenger = Outcomes(champion.numerator / 2, naive)
    interval = paired_bootstrap(challenger, champion, higher_is_better=False, resamples=300)
    assert interval.improvement > 0 and interval.low > 0


def test_mcnemar_exact_values():
    only_b = np.array([False] * 10)
    assert mcnemar_exact(only_b, ~only_b) == 2 * 0.5**10
    same = np.array([True, False, True])
    assert mcnemar_exact(same, same) == 1.0


def _entry(action, before, after):
    return Entry(
        seq=0,
        family="mlp",
        model_name="m",
        action=action,
        version=after,
        champion_before=before,
        champion_after=after,
        metric="x",
        reason="",
        actor="t",
        time="",
    )


@given(st.lists(st.sampled_from(["promote", "reject", "rollback"]), max_size=30))
def test_rollback_restores_exactly_the_previous_champion(actions):
    ledger, stack, next_version = [], ["1"], 2
    ledger.append(_entry("first", "", "1"))
    for action in actions:
        current = stack[-1]
        if action == "promote":
            stack.append(str(next_version))
            ledger.append(_entry("promote", current, stack[-1]))
        elif action == "reject":
            ledger.append(_entry("reject", current, current))
        elif len(stack) >= 2:
            stack.pop()
            ledger.append(_entry("rollback", current, stack[-1]))
        next_version += 1
        assert champion_chain(ledger) == stack  # the replayed ledger knows every champion


def test_frechet_bootstrap_over_sample_sets():
    from components.runtime.stats import FeatureSets

    rng = np.random.default_rng(0)
    reference = rng.normal(size=(300, 4))
    noise = rng.normal(size=(300, 4))
    good, bad = FeatureSets(noise, reference), FeatureSets(noise + 1.5, reference)
    gate = GateSettings(metric="test_frechet_distance", higher_is_better=False, resamples=100)
    better = decide(good.metric(), bad.metric(), gate, paired=(good, bad))
    assert better.promote and better.low > 0 and better.p_value is None
    assert not decide(bad.metric(), good.metric(), gate, paired=(bad, good)).promote
    same = decide(good.metric(), good.metric(), gate, paired=(good, good))
    assert not same.promote and same.low == same.high == 0
