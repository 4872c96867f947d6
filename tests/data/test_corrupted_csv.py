"""Corrupted user CSVs stop the family at the validation gate: the failed expectation and its
column are named, Data Docs are written, and nothing downstream changes (registry, aliases, data
versions, runs, the built-in data)."""

import numpy as np
import pandas as pd
import pytest

from components.kinds.tabular_classification.data import breast_cancer
from tests.pipeline_helpers import registry_state, tiny_config, training_runs


def _corrupt(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    if kind == "null":
        frame.loc[3, "mean_radius"] = np.nan
    elif kind == "string":
        frame["mean_texture"] = frame["mean_texture"].astype(object)
        frame.loc[5, "mean_texture"] = "twelve"
    elif kind == "unknown_label":
        frame.loc[7, "target"] = 7
    elif kind == "missing_column":
        frame = frame.drop(columns=["mean_area"])
    elif kind == "infinite":
        frame.loc[9, "mean_perimeter"] = np.inf
    return frame


CASES = {  # the failed expectation, and the column the summary names
    "null": ("expect_column_values_to_not_be_null", "column 'mean_radius'"),
    "string": ("expect_column_values_to_be_in_type_list", "column 'mean_texture'"),
    "unknown_label": ("expect_column_values_to_be_in_set", "column 'target'"),
    "missing_column": ("expect_table_columns_to_match_set", "column 'mean_area'"),
    "empty_file": ("expect_file_to_be_readable_csv", "table"),
    "infinite": ("expect_column_values_to_be_between", "column 'mean_perimeter'"),
}


def _state(project, model_name: str) -> tuple:
    """Registry, every data version pointer and contract, training runs, the built-in data."""
    pointers = {p.name: p.read_text() for p in sorted(project.data.glob("*.json"))}
    pointers |= {p.name: p.read_text() for p in sorted(project.data.glob("*.dvc"))}
    return (
        registry_state("dlops-mlp"),
        registry_state(model_name),
        pointers,
        len(training_runs("mlp")),
        (project.data / "mlp" / "data.csv").read_bytes(),
    )


@pytest.fixture(scope="module")
def declared_schema(tmp_path_factory, first_run):
    """A tiny config that declares the user's schema: features and labels."""
    features = [c for c in breast_cancer().columns if c != "target"]
    extra = f"  data:\n    expect: {{features: {features}, labels: [0, 1]}}\n"
    return tiny_config(tmp_path_factory.mktemp("schema"), extra.replace("'", '"'))


@pytest.mark.parametrize("kind", sorted(CASES))
def test_corrupted_csv_stops_before_training(kind, declared_schema, project, tmp_path):
    from pipelines.training import training_pipeline

    path = tmp_path / f"{kind}.csv"
    if kind == "empty_file":
        path.write_text("")
    else:
        _corrupt(kind, breast_cancer()).to_csv(path, index=False)

    model_name = f"dlops-mlp-{kind.replace('_', '-')}"  # a new data source: its own model
    before = _state(project, model_name)
    [outcome] = training_pipeline(
        families=["mlp"], config=declared_schema, overrides=[f"data.source=csv:{path}"]
    )
    after = _state(project, model_name)

    assert outcome["status"] == "validation failed" and outcome["model_name"] == model_name
    expectation, where = CASES[kind]  # the column's summary line names the expectation
    [line] = [ln for ln in outcome["message"].splitlines() if ln.startswith(f"  {where}: ")]
    assert expectation in line
    assert not (project.data / model_name.removeprefix("dlops-")).exists()
    assert outcome["run_id"] is None and outcome["version"] is None
    assert after == before  # registry, aliases, data version, runs and files untouched
    if kind != "empty_file":
        assert outcome["docs"] and outcome["docs"].endswith("index.html")


def test_valid_csv_passes_the_same_suite(declared_schema, project, tmp_path):
    from components.data import ingest
    from components.config import load_family
    from components.validation.validate import validate_folder

    path = tmp_path / "good.csv"
    breast_cancer().to_csv(path, index=False)
    settings = load_family(project, "mlp", declared_schema, [f"data.source=csv:{path}"])
    report = validate_folder(project, settings, ingest.stage(project, settings))
    assert report.success, report.failures
    assert report.stats["rows"] == 569
