"""Config loading: YAML + overlay + --set into typed settings; errors name the field."""

from pathlib import Path

import pytest

from components.config import load_family, load_pipeline
from components.project import DlopsError, Project
from components.settings import parse_overrides

REPO = Project(Path(__file__).resolve().parents[2])


def test_overrides_are_typed_and_nested():
    assert parse_overrides(["train.epochs=5", "model.hidden_sizes=[8, 4]", "gate.metric=x"]) == {
        "train": {"epochs": 5},
        "model": {"hidden_sizes": [8, 4]},
        "gate": {"metric": "x"},
    }


def test_source_override_stays_a_string():
    assert parse_overrides(["data.source=csv:/a/b.csv"]) == {"data": {"source": "csv:/a/b.csv"}}


@pytest.mark.parametrize("bad", ["noequals", "=5", "a..b=1"])
def test_malformed_override_is_rejected(bad):
    with pytest.raises(DlopsError, match="key=value"):
        parse_overrides([bad])


def test_family_settings_apply_overrides():
    settings = load_family(REPO, "mlp", overrides=["train.epochs=3", "data.target=label"])
    assert settings.train.epochs == 3
    assert settings.data.target == "label"
    assert settings.model_name == "dlops-mlp"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("train.epochs=0", "train.epochs"),
        ("train.nonsense=1", "train.nonsense"),
        ("data.source=ftp://x", "data.source"),
        ("model.dropout=2", "dropout"),
        ("data.split.test=0.75", "split"),
        ("train.device=tpu", "train.device"),
    ],
)
def test_invalid_values_name_the_field(override, field):
    with pytest.raises(DlopsError) as err:
        load_family(REPO, "mlp", overrides=[override])
    assert field in str(err.value)


def test_unknown_family_lists_known_ones():
    with pytest.raises(DlopsError, match=r"known families: .*\bmlp\b"):
        load_family(REPO, "transformer")


def test_how_data_is_read_does_not_change_the_config_hash():
    base = load_family(REPO, "cnn").config_hash()
    read_otherwise = ["data.in_memory_mb=0", "data.workers=3"]
    assert load_family(REPO, "cnn", overrides=read_otherwise).config_hash() == base


def test_class_names_are_text_and_unique():
    settings = load_family(REPO, "mlp", overrides=["data.class_names={0: cat, 1: dog}"])
    assert settings.data.class_names == {"0": "cat", "1": "dog"}
    with pytest.raises(DlopsError, match="quote it"):
        load_family(REPO, "mlp", overrides=["data.class_names={0: no, 1: yes}"])
    with pytest.raises(DlopsError, match="share a name"):
        load_family(REPO, "mlp", overrides=["data.class_names={0: same, 1: same}"])


def test_config_hash_tracks_every_setting():
    base = load_family(REPO, "mlp")
    assert base.config_hash() == load_family(REPO, "mlp").config_hash()
    assert base.config_hash() != load_family(REPO, "mlp", overrides=["train.seed=1"]).config_hash()


def test_overlay_file_sections(tmp_path):
    overlay = tmp_path / "tiny.yaml"
    overlay.write_text("pipeline: {families: [mlp]}\nmlp: {train: {epochs: 2}}\n")
    assert load_pipeline(REPO, overlay).families == ["mlp"]
    assert load_family(REPO, "mlp", overlay).train.epochs == 2


def test_missing_or_broken_overlay(tmp_path):
    with pytest.raises(DlopsError, match="not found"):
        load_family(REPO, "mlp", tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("mlp: [unclosed")
    with pytest.raises(DlopsError, match="not valid YAML"):
        load_family(REPO, "mlp", broken)


def test_flat_params_cover_the_resolved_config():
    flat = load_family(REPO, "mlp").flat()
    assert flat["train.epochs"] == "200"
    assert flat["model.hidden_sizes"] == "[64, 32]"
    assert flat["data.split.seed"] == "42"


def test_pipeline_retries_notify_and_schedule_are_typed(tmp_path):
    from pydantic import ValidationError

    from components.settings import NotifySettings, RetrySettings, WebhookSettings, describe_errors

    assert RetrySettings(attempts=3, delay_s=2, backoff=2).delays() == [2, 4, 8]
    assert RetrySettings(attempts=0).delays() == []
    with pytest.raises(ValidationError):
        RetrySettings(attempts=-1)
    with pytest.raises(ValidationError, match="exactly one of url and url_env"):
        WebhookSettings()
    with pytest.raises(ValidationError) as error:
        WebhookSettings(url="ftp://hooks.example/T0KEN-SECRET")
    message = describe_errors(error.value, "pipeline")  # what the CLI prints
    assert "must start with http" in message
    assert "T0KEN-SECRET" not in message  # a chat webhook's URL is its secret
    with pytest.raises(ValidationError):
        WebhookSettings(url="https://x", events=["deployed"])
    assert NotifySettings().log and NotifySettings().webhooks == []
