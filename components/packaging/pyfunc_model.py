"""The MLflow pyfunc wrapper, logged as code (models-from-code): nothing is pickled.

This file is MLflow's entry point for the logged model; `set_model` at the bottom is the
models-from-code contract, so import it only through MLflow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

import mlflow


class DlopsClassifier(PythonModel):
    """Rebuilds the network from weights + card; predicts class and probabilities per row."""

    def load_context(self, context):
        from components.models.artifact import load_model

        self.model, self.card = load_model(Path(context.artifacts["model_dir"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        import torch

        from components.evaluation.classification import predict_proba, predictions_frame

        x = model_input[self.card["features"]].to_numpy(dtype=np.float32)
        proba = predict_proba(self.model, x, torch.device("cpu"))
        return predictions_frame(proba, self.card["classes"])


mlflow.models.set_model(DlopsClassifier())
