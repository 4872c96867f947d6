"""The MLflow pyfunc wrapper, logged as code (models-from-code): nothing is pickled.

This file is MLflow's entry point for the logged model; `set_model` at the bottom is the
models-from-code contract, so import it only through MLflow. It rebuilds the network from
weights + card and answers with the kind's inference module, as the BentoML service does.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.pyfunc import PythonModel

import mlflow


class DlopsModel(PythonModel):
    """Rebuilds the network from weights + card; the kind's inference module predicts."""

    # Inputs are checked against the logged signature, and by the kind's inference module;
    # MLflow's type-hint validation (and its "Add type hints" warning) does not apply.
    _skip_type_hint_validation = True

    def load_context(self, context):
        from components.kinds.card import load_model

        self.model, self.card = load_model(Path(context.artifacts["model_dir"]))

    def predict(self, context, model_input, params=None):
        from components.kinds.card import predict

        return predict(self.model, self.card, model_input)


mlflow.models.set_model(DlopsModel())
