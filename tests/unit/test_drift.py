"""The drift loop's parts: two-sample tests, the served-input log, the trigger's rules."""

import time

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from components.drift.check import DriftResult, decide_trigger
from components.drift.export import read_labels
from components.notifications import Notification
from components.project import DlopsError
from components.runtime.input_log import ID, TIME, InputLog, folder_of, read_window
from components.runtime.two_sample import feature_tests, mmd_test
from components.settings import DriftSettings


def test_feature_tests_name_the_shifted_feature_only():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {"a": rng.normal(size=1500), "b": rng.normal(size=1500), "k": rng.integers(0, 3, 1500)}
    )
    current = pd.DataFrame(
        {"a": rng.normal(size=300), "b": rng.normal(0.6, 1, 300), "k": rng.integers(0, 3, 300)}
    )
    tests = {t.feature: t for t in feature_tests(reference, current)}
    assert tests["b"].adjusted_p < 0.001 and tests["b"].test == "ks"
    assert tests["a"].adjusted_p > 0.01 and tests["k"].adjusted_p > 0.01
    assert tests["k"].test == "chi2"  # three integer levels
    assert feature_tests(reference, current)[0].feature == "b"  # the biggest shift first


def test_holm_correction_raises_p_values_with_the_number_of_features():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({f"f{i}": rng.normal(size=400) for i in range(20)})
    current = pd.DataFrame({f"f{i}": rng.normal(size=200) for i in range(20)})
    tests = feature_tests(reference, current)
    assert all(t.adjusted_p >= t.p_value for t in tests)
    assert min(t.adjusted_p for t in tests) == pytest.approx(
        min(1.0, 20 * min(t.p_value for t in tests))
    )


def test_a_shifted_category_is_found_by_chi2():
    reference = pd.DataFrame({"class": np.repeat([0, 1, 2], 300)})
    current = pd.DataFrame({"class": np.repeat([0, 1, 2], [200, 50, 50])})
    [test] = feature_tests(reference, current)
    assert test.test == "chi2" and test.adjusted_p < 1e-6


def test_mmd_finds_a_shift_and_not_a_resample():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(800, 8))
    same = mmd_test(reference, rng.normal(size=(200, 8)), permutations=200)
    shifted = mmd_test(reference, rng.normal(0.4, 1, size=(200, 8)), permutations=200)
    assert same[1] > 0.05
    assert shifted[1] < 0.01 and shifted[0] > same[0]
    again = mmd_test(reference, rng.normal(0.4, 1, size=(200, 8)) * 0 + 1, permutations=50)
    assert again[1] == pytest.approx(1 / 51)  # nothing exceeds a total shift: the floor


def test_mmd_needs_two_vectors_per_sample():
    with pytest.raises(ValueError, match="at least two"):
        mmd_test(np.zeros((5, 2)), np.zeros((1, 2)))


def test_input_log_writes_rows_with_ids_and_keeps_the_newest(tmp_path):
    folder = folder_of(tmp_path, "dlops-mlp", "3")
    log = InputLog(folder, max_rows=50, flush_s=60)
    for i in range(10):
        log.record({"x": [float(i)] * 10})
        log.flush()  # one file per request: the oldest are deleted past max_rows
    log.close()
    window = read_window(folder, 1000)
    assert 50 <= len(window) < 70
    assert window["x"].iloc[-1] == 9.0 and window["x"].is_monotonic_increasing
    assert window[ID].is_unique and window[TIME].is_monotonic_increasing
    assert not list(folder.glob(".*"))  # no partial file left behind
    assert list(read_window(folder, 15)["x"]) == [8.0] * 5 + [9.0] * 10


def test_input_log_samples_at_its_rate(tmp_path):
    assert not InputLog(tmp_path / "off", sample_rate=0.0).sampled()
    log = InputLog(tmp_path / "half", sample_rate=0.5, seed=0)
    share = np.mean([log.sampled() for _ in range(4000)])
    log.close()
    assert 0.45 < share < 0.55


def test_recording_does_not_wait_for_the_disk(tmp_path):
    log = InputLog(tmp_path / "m", flush_s=60)
    rows = {"x": list(range(100))}
    for _ in range(200):
        log.record(rows)
    assert not (tmp_path / "m").exists()  # nothing written yet: the writer runs later
    log.close()
    assert len(read_window(tmp_path / "m", 100_000)) == 20_000  # all of it, once closed


def test_an_empty_log_reads_as_an_empty_window(tmp_path):
    assert read_window(tmp_path / "nothing", 10).empty


def _result(status: str = "drift") -> DriftResult:
    return DriftResult("mlp", "dlops-mlp", "2", status, rows=500, p_value=0.0001)


def test_drift_triggers_a_retrain():
    result = _result()
    decide_trigger(result, DriftSettings(), last=None)
    assert result.triggered and "retrain" in result.reason


def test_no_drift_triggers_nothing():
    result = _result("no drift")
    decide_trigger(result, DriftSettings(), last=None)
    assert not result.triggered


def test_too_few_rows_trigger_nothing():
    result = DriftResult("mlp", "dlops-mlp", "2", "too few rows", rows=5, reason="5 served rows")
    decide_trigger(result, DriftSettings(), last=None)
    assert not result.triggered and result.reason == "5 served rows"


def test_the_cool_down_holds_a_second_trigger():
    result = _result()
    decide_trigger(result, DriftSettings(cooldown_hours=1), last=time.time() - 600)
    assert not result.triggered and "cool-down" in result.reason
    later = _result()
    decide_trigger(later, DriftSettings(cooldown_hours=1), last=time.time() - 7200)
    assert later.triggered


def test_retraining_can_be_switched_off():
    result = _result()
    decide_trigger(result, DriftSettings(retrain=False), last=None)
    assert not result.triggered and "drift.retrain" in result.reason


def test_a_minimum_window_larger_than_the_window_is_refused():
    with pytest.raises(ValidationError, match="min_window"):
        DriftSettings(window=100, min_window=200)


def test_labels_file_errors_name_the_problem(tmp_path):
    with pytest.raises(DlopsError, match="is not a file"):
        read_labels(tmp_path / "missing.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,label\na,1\n")
    with pytest.raises(DlopsError, match="lacks the column"):
        read_labels(wrong)
    empty = tmp_path / "empty.csv"
    empty.write_text("_id,label\na,\n")
    with pytest.raises(DlopsError, match="empty label"):
        read_labels(empty)
    twice = tmp_path / "twice.csv"
    twice.write_text("_id,label\na,1\na,2\n")
    with pytest.raises(DlopsError, match="twice"):
        read_labels(twice)
    good = tmp_path / "good.csv"
    good.write_text("_id,label\na,cat\nb,dog\n")
    assert read_labels(good) == {"a": "cat", "b": "dog"}


def test_drift_is_an_event_the_hooks_hear():
    note = Notification(event="drift_detected", family="mlp", model_name="dlops-mlp", version="2")
    assert note.summary() == "mlp v2: served inputs drifted from its training data"
    assert note.line().startswith("drift_detected:")


def _tones(hz: float, n: int, seed: int) -> list[np.ndarray]:
    """`n` one-second tones around `hz` at 16 kHz, at random levels, with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(16_000) / 16_000
    return [
        rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * hz * rng.uniform(0.9, 1.1) * t)
        + rng.normal(0, 0.01, t.shape)
        for _ in range(n)
    ]


def _assert_finds_only_the_shift(kind, model, card, reference, same, shifted, feature: str):
    """The kind's MMD passes a resample and finds the shift; `feature` moved most."""

    def embedded(frame):
        return kind.drift_embeddings(model, card, frame)

    assert mmd_test(embedded(reference), embedded(same), permutations=100)[1] > 0.05
    assert mmd_test(embedded(reference), embedded(shifted), permutations=100)[1] < 0.02
    moved = feature_tests(
        kind.drift_features(model, card, reference), kind.drift_features(model, card, shifted)
    )
    assert moved[0].feature == feature and moved[0].adjusted_p < 0.01


def test_speech_logs_an_acoustic_summary_and_finds_a_new_channel():
    from components.kinds import kinds
    from components.kinds.speech_recognition import inference

    card = inference.SpeechCard.model_construct(sample_rate=16_000, n_mels=40)
    kind = kinds()["speech_recognition"]()
    logged = inference.logged(card, _tones(300, 60, 0))
    assert set(logged) == {"seconds", "loudness_db", "spectrum"}
    assert logged["seconds"][0] == 1.0 and len(logged["spectrum"][0]) == 40 * 4  # float32s
    reference = pd.DataFrame(logged)
    same = pd.DataFrame(inference.logged(card, _tones(300, 40, 1)))
    higher = pd.DataFrame(inference.logged(card, _tones(2500, 40, 2)))  # another voice / channel

    _assert_finds_only_the_shift(kind, None, card, reference, same, higher, "spectral_centre_band")


def test_detection_logs_thumbnails_and_finds_a_darker_camera():
    import torch
    from PIL import Image

    from components.kinds import kinds
    from components.kinds.object_detection import inference
    from components.kinds.object_detection.data import scene
    from components.models.detector import CenterNet, DetectorConfig

    torch.manual_seed(0)
    model = CenterNet(DetectorConfig(widths=[8, 8, 16, 16], head=8), n_classes=3).eval()
    card = inference.DetectionCard.model_construct(
        classes=["a", "b", "c"], image_size=64, score_threshold=0.3
    )
    kind = kinds()["object_detection"]()

    def frame(start: int, n: int, gain: float = 1.0) -> pd.DataFrame:
        images = [Image.fromarray((scene(start + i, 64)[0] * gain).astype(np.uint8))
                  for i in range(n)]  # fmt: skip
        found = inference.detect(model, card, images)
        return pd.DataFrame(inference.logged(card, images, found, card.score_threshold))

    reference, same, darker = frame(0, 80), frame(1000, 40), frame(2000, 40, gain=0.5)
    assert len(reference["thumbnail"][0]) == 3 * 32 * 32
    other = inference.logged(card, [Image.new("RGB", (90, 40))], [[]], threshold=0.5)
    assert np.isnan(other["detections"][0])  # found at a caller's threshold: not comparable

    _assert_finds_only_the_shift(kind, model, card, reference, same, darker, "brightness")


def test_too_few_permutations_for_alpha_are_refused():
    with pytest.raises(ValidationError, match="cannot give a p-value below alpha"):
        DriftSettings(alpha=0.01, permutations=50)
    assert DriftSettings(alpha=0.05, permutations=50).permutations == 50


def test_labels_that_are_not_names_are_refused(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("_id,label\na,../outside\nb,cat\n")
    with pytest.raises(DlopsError, match="not names"):
        read_labels(labels)


def test_a_failed_write_keeps_the_rows_for_the_next_try(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the log's folder should be")
    log = InputLog(blocker / "v1", flush_s=60)
    log.record({"x": [1.0, 2.0]})
    with pytest.raises(OSError):
        log.flush()
    log.folder = tmp_path / "v1"  # the disk is back
    assert log.flush() == 2
    log.close()
    assert list(read_window(tmp_path / "v1", 10)["x"]) == [1.0, 2.0]


def test_feature_rows_are_json_without_nan():
    import json

    reference = pd.DataFrame({"a": [np.nan] * 5, "b": np.arange(5.0)})
    rows = [t.row() for t in feature_tests(reference, reference)]
    assert "NaN" not in json.dumps(rows)
