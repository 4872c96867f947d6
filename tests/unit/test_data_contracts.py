"""Data contracts, model names per data set, small-data training settings, failure summaries
and lineage targets: the pure parts, without a flow."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from components.kinds.profile import differences, number, widened
from components.project import DlopsError, Project
from components.settings import FamilySettings, TrainSettings
from components.tracking.lineage import parse_target
from components.validation.gx_runner import summarise


def settings(**data) -> FamilySettings:
    return FamilySettings.model_validate({"family": "mlp", "data": data})


def test_each_data_source_is_its_own_model_with_its_own_folder(tmp_path):
    builtin = settings()
    assert builtin.model_name == "dlops-mlp" and builtin.data_key == "mlp"
    own = settings(source=f"csv:{tmp_path}/My Flowers.v2.csv")
    assert own.model_name == "dlops-mlp-my-flowers-v2" and own.data_key == "mlp-my-flowers-v2"
    folder = FamilySettings.model_validate(
        {"family": "cnn", "data": {"source": f"folder:{tmp_path}/shapes/"}}
    )
    assert folder.model_name == "dlops-cnn-shapes"
    named = FamilySettings.model_validate(
        {"family": "mlp", "data": {"source": "csv:x.csv"}, "registry": {"model_name": "iris"}}
    )
    assert named.model_name == "iris" and named.data_key == "iris"


@pytest.mark.parametrize("name", ["Iris", "-iris", "iris/2", "", "a" * 64])
def test_model_names_the_stores_cannot_hold_are_refused(name):
    with pytest.raises(ValueError, match="not a model name"):
        FamilySettings.model_validate({"family": "mlp", "registry": {"model_name": name}})


def test_small_data_gets_more_steps_and_large_data_its_settings():
    train = TrainSettings(batch_size=64, patience=8)
    small = train.adapted(36)  # 36 images: one step an epoch at batch 64
    assert small.batch_size == 9 and -(-36 // small.batch_size) == 4
    assert small.patience == 25  # 25 epochs x 4 steps >= 100 steps without improvement
    assert train.adapted(1078) == train  # the built-in digits: unchanged
    for examples in range(2, 300):  # never a batch of one, first or last (batch norm)
        batch = train.adapted(examples).batch_size
        assert 2 <= batch <= 65 and examples % batch != 1, examples
        if examples < 256:
            assert -(-examples // batch) <= 4 or batch == 2  # the steps an epoch that it can
    assert TrainSettings(batch_size=1).adapted(3).batch_size == 1  # unless configured so


def test_profile_differences_name_each_changed_field():
    old = {"columns": ["a", "b"], "labels": [0, 1], "ranges": {"a": {"min": 1.0, "max": 2.0}}}
    new = {"columns": ["a", "c"], "labels": [0, 1, 2], "ranges": {"a": {"min": 1.0, "max": 3.0}}}
    assert differences(old, new) == [
        "columns: -['b'] +['c']",
        "labels: +[2]",
        "ranges.a.max: 2.0 -> 3.0",
    ]
    assert differences(old, old) == []
    assert differences({"x": 1}, {}) == ["x: removed (was 1)"]


def test_accepted_ranges_widen_by_the_margin_and_numbers_are_stable():
    assert widened(0.0, 10.0, 0.1) == (-1.0, 11.0)
    assert widened(5.0, 5.0, 0.1) == (4.5, 5.5)  # a constant column: by its magnitude
    assert number(0.1 + 0.2) == 0.3 and number(float("nan")) is None and number(3) == 3


def test_failures_are_summarised_by_column_in_a_screenful():
    failures = [
        "expect_table_columns_to_match_set(petal_width): missing ['petal_width']",
        *(f"expect_column_values_to_not_be_null(c{i}): 3 unexpected values" for i in range(30)),
        "expect_table_row_count_to_be_between: observed 3",
    ]
    lines = summarise(failures, limit=12)
    assert len(lines) == 12 and lines[-1] == "  ... and 21 more columns"
    assert lines[0].startswith("  column 'petal_width': expect_table_columns_to_match_set")
    assert lines[1] == "  column 'c0': expect_column_values_to_not_be_null: 3 unexpected values"
    assert summarise(failures[-1:]) == ["  table: expect_table_row_count_to_be_between: observed 3"]
    two = ["expect_a(x): 1 unexpected", "expect_b(x): observed 2", "expect_c: observed 0"]
    assert summarise(two) == [
        "  column 'x': expect_a: 1 unexpected; expect_b: observed 2",
        "  table: expect_c: observed 0",
    ]


def test_lineage_targets_are_a_version_or_a_served_answer(tmp_path):
    assert parse_target("dlops-mlp@3") == ("dlops-mlp", "3")
    assert parse_target("dlops-mlp@v3") == ("dlops-mlp", "3")
    answer = {"predictions": [], "model_name": "dlops-mlp-iris", "model_version": "2"}
    (tmp_path / "answer.json").write_text(json.dumps(answer))
    assert parse_target(str(tmp_path / "answer.json")) == ("dlops-mlp-iris", "2")
    assert parse_target(json.dumps(answer)) == ("dlops-mlp-iris", "2")
    with pytest.raises(DlopsError, match="neither MODEL@VERSION nor"):
        parse_target("no-such-file.json")
    with pytest.raises(DlopsError, match="names no model_name"):
        parse_target('{"predictions": []}')


def test_the_tabular_contract_refuses_by_column(tmp_path):
    """The contract's rules in the GX gate: a missing column, a new label, a far value."""
    from components.kinds import kind_for
    from components.validation.validate import validate_folder

    project = Project(tmp_path)
    own = settings(source="csv:x.csv", target="label", min_rows=5)
    good = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "label": ["a", "b"] * 3})
    folder = tmp_path / "staged"
    folder.mkdir()
    good.to_csv(folder / "data.csv", index=False)
    accepted = validate_folder(project, own, folder)
    assert accepted.success and accepted.profile == kind_for("mlp").profile(
        own, kind_for("mlp").suite(own, folder)
    )
    assert accepted.profile["ranges"]["x"]["min"] == 1.0

    changed = good.assign(x=[1.0, 2.0, 3.0, 4.0, 5.0, 60.0], label=["a", "b", "c"] * 2)
    changed.to_csv(folder / "data.csv", index=False)
    report = validate_folder(project, own, folder, accepted.profile)
    assert not report.success and not report.profile
    text = "\n".join(summarise(report.failures))
    assert "column 'x': expect_column_values_to_be_between" in text
    assert "column 'label': expect_column_values_to_be_in_set" in text
    assert validate_folder(project, own, folder).success  # without the contract: fine data


def _validated(tmp_path, family: str, overrides: dict, write, accepted=None):
    from components.validation.validate import validate_folder

    own = FamilySettings.model_validate({"family": family, **overrides})
    folder = tmp_path / "staged"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir()
    write(folder)
    return validate_folder(Project(tmp_path), own, folder, accepted)


def test_the_series_contract_keeps_the_step_and_the_value_range(tmp_path):
    import numpy as np

    small = {
        "data": {
            "source": "csv:x.csv",
            "time": "date",
            "target": "value",
            "min_rows": 10,
            "series": {"window": 8, "horizon": 2, "season_length": 4},
        }
    }

    def series(freq: str, scale: float = 1.0, gap: bool = False):
        times = pd.date_range("2020-01-04", periods=120, freq=freq)
        values = scale * (100 + np.sin(np.arange(120) * np.pi / 2))
        frame = pd.DataFrame({"date": times.strftime("%Y-%m-%d"), "value": values})
        frame = frame.drop(index=[50]) if gap else frame
        return lambda folder: frame.to_csv(folder / "series.csv", index=False)

    accepted = _validated(tmp_path, "rnn", small, series("W-SAT"))
    assert accepted.success and accepted.profile["frequency"] == "W-SAT"
    assert accepted.profile["step_days"] == 7.0
    daily = _validated(tmp_path, "rnn", small, series("D"), accepted.profile)
    assert not daily.success
    assert any("one step every 1.0 days" in f for f in daily.failures)
    gap = _validated(tmp_path, "rnn", small, series("W-SAT", gap=True), accepted.profile)
    assert gap.success, gap.failures  # a missing week is a gap, not another step
    larger = _validated(tmp_path, "rnn", small, series("W-SAT", 3.0), accepted.profile)
    assert "column 'value': expect_column_values_to_be_between" in "\n".join(
        summarise(larger.failures)
    )


def test_the_image_contract_refuses_a_class_it_never_saw(tmp_path):
    from PIL import Image

    def folder_of(classes):
        def write(folder):
            for c, name in enumerate(classes):
                (folder / name).mkdir()
                for i in range(6):  # distinct images: duplicates would fail on their own
                    Image.new("L", (8, 8), 40 * i + c).save(folder / name / f"{i}.png")

        return write

    own = {"data": {"source": "folder:x", "min_rows": 10}}
    accepted = _validated(tmp_path, "cnn", own, folder_of(["cat", "dog"]))
    assert accepted.success and accepted.profile["classes"] == ["cat", "dog"]
    same = _validated(tmp_path, "cnn", own, folder_of(["cat", "dog"]), accepted.profile)
    assert same.success
    more = _validated(tmp_path, "cnn", own, folder_of(["cat", "dog", "fox"]), accepted.profile)
    assert not more.success
    assert "column 'class': expect_column_values_to_be_in_set" in "\n".join(
        summarise(more.failures)
    )


def test_one_folder_never_holds_two_models_data(tmp_path):
    from components.validation import contract

    project = Project(tmp_path)
    cnn = FamilySettings.model_validate({"family": "cnn"})
    contract.write(project, cnn, {"classes": ["0", "1"]}, "abc.dir", "the model's first data")
    assert contract.read(project, cnn)["profile"] == {"classes": ["0", "1"]}
    # an MLP named so that its folder would be the CNN's: refused, naming the owner
    clash = FamilySettings.model_validate({"family": "mlp", "registry": {"model_name": "cnn"}})
    assert clash.data_key == "cnn"
    with pytest.raises(DlopsError, match="holds the data of dlops-cnn"):
        contract.accepted_profile(project, clash, None)
    with pytest.raises(DlopsError, match="needs a reason"):
        contract.accepted_profile(project, cnn, "  ")
    assert contract.accepted_profile(project, cnn, "on purpose") is None  # the change is accepted


def test_a_pasted_answer_of_any_length_is_a_lineage_target():
    answer = {
        "predictions": [{"class": "x", "p": [0.1] * 200}],
        "model_name": "m",
        "model_version": "4",
    }
    assert parse_target(json.dumps(answer)) == ("m", "4")
