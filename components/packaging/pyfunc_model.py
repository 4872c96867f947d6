"""The MLflow pyfunc wrapper, logged as code (models-from-code): nothing is pickled.

This file is MLflow's entry point for the logged model; `set_model` at the bottom is the
models-from-code contract, so import it only through MLflow.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.pyfunc import PythonModel

import mlflow


class DlopsModel(PythonModel):
    """Rebuilds the network from weights + card; its family's task kind does the prediction."""

    def load_context(self, context):
        from components.models.artifact import load_model
        from components.tasks import task_for

        self.model, self.card = load_model(Path(context.artifacts["model_dir"]))
        self.task = task_for(self.card["family"])

    def predict(self, context, model_input, params=None):
        return self.task.predict(self.model, self.card, model_input)


mlflow.models.set_model(DlopsModel())
