"""What every family's service shares: the model tag, loading by our code, lineage, errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse


def model_tag(family: str) -> str:
    """The BentoML model to serve: `DLOPS_MODEL_TAG` (set by `dlops serve` and the Bento)."""
    return os.environ.get("DLOPS_MODEL_TAG", f"dlops-{family}:latest")


def load(bento_model) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Rebuild the network from the stored weights + card; returns (model, card, lineage)."""
    from components.models.artifact import load_model

    model, card = load_model(Path(bento_model.path))
    meta = dict(bento_model.info.metadata)
    lineage = {
        key: meta.get(key)
        for key in ("model_name", "model_version", "data_version", "git_commit", "config_hash")
    }
    lineage["bento_model"] = str(bento_model.tag)
    return model, card, {**lineage, "max_batch": meta.get("max_batch")}


def predict_classes(model, x, classes: list) -> list[dict[str, Any]]:
    """Class and class probabilities for each row of the batch `x` (a tensor)."""
    import torch

    with torch.inference_mode():
        proba = torch.softmax(model(x), dim=1)
    return [
        {
            "class": classes[int(row.argmax())],
            "probabilities": {
                str(c): round(float(p), 6) for c, p in zip(classes, row, strict=True)
            },
        }
        for row in proba
    ]


def bad_request(message: str, status: int = 422) -> JSONResponse:
    """A 4xx with a JSON body naming what is wrong."""
    return JSONResponse({"error": message}, status_code=status)


MAX_BODY_BYTES = 256 * 1024 * 1024  # a whole request; each file has its own, smaller limit
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


class FormGuard:
    """ASGI middleware: a form body that does not parse gets a 400, not BentoML's 500.

    BentoML parses forms before the API method runs and answers a parse error (Starlette's
    HTTPException 400) with a 500; this checks the body first and replays it unchanged.
    """

    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        from starlette.requests import Request

        if scope["type"] != "http" or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        content_type = Request(scope).headers.get("content-type", "")
        if not content_type.startswith(FORMS):
            return await self.app(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body_bytes:
                response = bad_request(f"request body exceeds {self.max_body_bytes} bytes", 413)
                return await response(scope, receive, send)
        body = b"".join(chunks)

        def replay():
            """The body once, then the client's own messages (a disconnect, say)."""
            sent = False

            async def receive_again():
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

            return receive_again

        try:
            form = await Request(scope, replay()).form()
            await form.close()
        except Exception as exc:  # any parse failure is the client's body
            message = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            return await bad_request(f"malformed form body: {message}", 400)(scope, receive, send)
        return await self.app(scope, replay(), send)
