"""BentoML service of the MLP family: classify rows of numbers or records of named features."""

from __future__ import annotations

from typing import Annotated, Any

import bentoml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.common import FormGuard, bad_request, load, model_tag, predict_classes

# Strict, finite numbers: no "1.5" strings, no booleans, no NaN or Infinity.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
HARD_MAX_BATCH = 100_000  # the model's own serving.max_batch (usually smaller) applies too
Batch = Field(min_length=1, max_length=HARD_MAX_BATCH)


class PredictRequest(BaseModel):
    """Either `rows` (lists of numbers in feature order) or `records` (feature → number)."""

    model_config = ConfigDict(extra="forbid")

    rows: Annotated[list[list[Number]], Batch] | None = None
    records: Annotated[list[dict[str, Number]], Batch] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.rows is None) == (self.records is None):
            raise ValueError("send exactly one of `rows` or `records`")
        return self


@bentoml.service(name="dlops-mlp", resources={"cpu": "1"}, traffic={"timeout": 30})
class Service:
    """The MLP champion behind `/predict`; every answer names its model and data version."""

    bento_model = bentoml.models.BentoModel(model_tag("mlp"))

    def __init__(self) -> None:
        self.model, self.card, self.lineage = load(self.bento_model)
        self.features: list[str] = self.card["features"]
        self.classes: list = self.card["classes"]
        self.max_batch: int = int(self.lineage.pop("max_batch") or HARD_MAX_BATCH)

    def _matrix(self, request: PredictRequest) -> list[list[float]] | str:
        """The request as rows in feature order, or a message saying what is wrong."""
        width = len(self.features)
        if request.rows is not None:
            bad = [i for i, row in enumerate(request.rows) if len(row) != width]
            if bad:
                return f"rows {bad[:5]} must have exactly {width} numbers"
            return request.rows
        matrix = []
        for i, record in enumerate(request.records or []):
            missing = [f for f in self.features if f not in record]
            unknown = sorted(set(record) - set(self.features))
            if missing or unknown:
                return (
                    f"records[{i}]: missing features {missing[:5]}, unknown features {unknown[:5]}"
                )
            matrix.append([record[f] for f in self.features])
        return matrix

    @bentoml.api(input_spec=PredictRequest)
    def predict(self, rows: list | None = None, records: list | None = None) -> dict[str, Any]:
        """Class and class probabilities for each row."""
        import torch

        request = PredictRequest.model_construct(rows=rows, records=records)
        if len(rows or records or []) > self.max_batch:
            return bad_request(
                f"batch of {len(rows or records)} rows exceeds the limit of {self.max_batch}",
                status=413,
            )
        matrix = self._matrix(request)
        if isinstance(matrix, str):
            return bad_request(matrix)
        predictions = predict_classes(
            self.model, torch.tensor(matrix, dtype=torch.float32), self.classes
        )
        return {"predictions": predictions, **self.lineage}

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage and input schema."""
        return {
            **self.lineage,
            "features": self.features,
            "classes": self.classes,
            "max_batch": self.max_batch,
        }


Service.add_asgi_middleware(FormGuard)
