"""Models in MLflow: log weights + card with the pyfunc code; fetch a logged model's folder."""

from __future__ import annotations

from pathlib import Path

from components import tags as tag
from components.kinds.card import load_model, predict
from components.tracking.runs import client

PYFUNC_CODE = Path(__file__).resolve().parent.parent / "packaging" / "pyfunc_model.py"
COMPONENTS = Path(__file__).resolve().parent.parent


def pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (given, so MLflow needs no slow inference)."""
    from importlib.metadata import version

    return [
        f"{name}=={version(name)}"
        for name in (
            *("torch", "mlflow", "numpy", "pandas", "safetensors", "pydantic", "pillow"),
            "tokenizers",  # the text kind's card carries its tokenizer
        )
    ]


def log_model(run_id: str, model_dir: Path, example) -> str:
    """Log the model under the run as `model`; returns its model URI."""
    from mlflow.models import Model, infer_signature

    import mlflow

    model, card = load_model(model_dir)
    signature = infer_signature(example, predict(model, card, example))
    # Created here so it lands in the run's experiment (Model.log alone would use the fluent
    # default experiment and its ./mlruns artifact root).
    mlflow_client = client()
    run = mlflow_client.get_run(run_id)
    logged = mlflow_client.create_logged_model(
        run.info.experiment_id,
        name="model",
        source_run_id=run_id,
        tags={k: run.data.tags[k] for k in tag.LINEAGE_KEYS if k in run.data.tags},
        model_type=card.family,
    )
    info = Model.log(
        artifact_path=None,
        name="model",
        model_id=logged.model_id,
        flavor=mlflow.pyfunc,
        run_id=run_id,
        python_model=str(PYFUNC_CODE),
        artifacts={"model_dir": str(model_dir)},
        code_paths=[str(COMPONENTS)],
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        await_registration_for=0,
    )
    return info.model_uri


def model_uri_of(run_id: str) -> str:
    """The model URI the evaluation step recorded on the run."""
    return client().get_run(run_id).data.tags[tag.MODEL_URI]


def local_model_dir(model_uri: str) -> Path:
    """Download a logged model and return the folder holding its weights and card."""
    import mlflow

    root = Path(mlflow.artifacts.download_artifacts(model_uri))
    return root / "artifacts" / "model"
