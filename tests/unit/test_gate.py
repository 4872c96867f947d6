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


def test_limits_block_whatever_the_champion_scores():
    gate = GateSettings(metric="test_mase", higher_is_better=False, limits={"test_mase": (None, 1)})
    blocked = decide(1.2, None, gate, {"test_mase": 1.2})
    assert not blocked.promote and "above the limit" in blocked.reason
    assert decide(0.7, None, gate, {"test_mase": 0.7}).promote
    floor = GateSettings(limits={"test_recall_min": (0.5, None)})
    assert not decide(0.99, 0.5, floor, {"test_accuracy": 0.99, "test_recall_min": 0.3}).promote
    assert "not measured" in decide(0.99, None, floor, {"test_accuracy": 0.99}).reason


def test_must_not_regress_blocks_a_better_headline():
    gate = GateSettings(must_not_regress={"test_macro_f1": "higher", "test_rmse": "lower"})
    champion = {"test_accuracy": 0.90, "test_macro_f1": 0.88, "test_rmse": 1.0}
    worse_f1 = {"test_accuracy": 0.95, "test_macro_f1": 0.80, "test_rmse": 1.0}
    blocked = decide(0.95, 0.90, gate, worse_f1, champion_metrics=champion)
    assert not blocked.promote and "test_macro_f1 regresses" in blocked.reason
    worse_rmse = {"test_accuracy": 0.95, "test_macro_f1": 0.9, "test_rmse": 1.5}
    assert not decide(0.95, 0.90, gate, worse_rmse, champion_metrics=champion).promote
    fine = {"test_accuracy": 0.95, "test_macro_f1": 0.9, "test_rmse": 0.9}
    assert decide(0.95, 0.90, gate, fine, champion_metrics=champion).promote


def test_recall_floor_metric():
    import numpy as np

    from components.runtime.metrics import classification_metrics

    y = np.array([0, 0, 0, 1, 1, 2])
    metrics = classification_metrics(y, np.array([0, 0, 0, 1, 0, 0]), 3)
    assert metrics["recall_min"] == 0.0  # class 2 is never found
    assert classification_metrics(y, y, 3)["recall_min"] == 1.0


def _outcomes(correct):
    import numpy as np

    from components.runtime.stats import Outcomes

    correct = np.asarray(correct, dtype=bool)
    return Outcomes(correct.astype(float), np.ones(len(correct)), correct)


def test_a_model_that_only_guesses_never_becomes_champion():
    # 100 test examples, 60 of the most frequent class: the model answers like the baseline
    majority = [True] * 60 + [False] * 40
    decision = decide(
        0.6, None, GateSettings(), baseline=(_outcomes(majority), _outcomes(majority))
    )
    assert not decision.promote and "only guesses" in decision.reason
    # a model right on 90 of them, including most of the baseline's misses, is a first champion
    good = [True] * 60 + [True] * 30 + [False] * 10
    first = decide(0.9, None, GateSettings(), baseline=(_outcomes(good), _outcomes(majority)))
    assert first.promote and "first" in first.reason
    # even when it beats a (worse) champion, a guessing challenger is not promoted
    beats = decide(
        0.6,
        0.3,
        GateSettings(),
        paired=(_outcomes(majority), _outcomes([True] * 30 + [False] * 70)),
        baseline=(_outcomes(majority), _outcomes(majority)),
    )
    assert not beats.promote and "only guesses" in beats.reason
    # the floor can be turned off, as a recorded setting
    off = GateSettings(beat_baseline=False)
    assert decide(0.6, None, off, baseline=(_outcomes(majority), _outcomes(majority))).promote


def test_the_baseline_is_the_most_frequent_training_class():
    import numpy as np

    from components.kinds.base import Split
    from components.kinds.classification import majority_correct
    from components.runtime.datasets import ArrayDataset

    x = np.zeros((10, 1), np.float32)
    parts = {
        "train": ArrayDataset(x[:6], np.array([2, 2, 2, 0, 1, 2])),
        "validation": ArrayDataset(x[:2], np.array([0, 1])),
        "test": ArrayDataset(x[:4], np.array([2, 0, 2, 1])),
    }
    split = Split(data=parts, dims={}, info={}, digest="d")
    assert majority_correct(split).tolist() == [True, False, True, False]
