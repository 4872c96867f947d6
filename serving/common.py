"""What every family's service shares: the model tag, loading by our code, lineage, errors.

Services import a kind's inference module and this module only: no training code, no MLflow,
Prefect, GX or DVC (an import-linter contract in pyproject.toml says so).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import bentoml
from starlette.responses import JSONResponse

from components.runtime.input_log import InputLog, from_environment
from components.tags import FAMILY, LINEAGE_KEYS

# What every answer, error bodies included, says about the model that gave it.
RESPONSE_LINEAGE = ("model_name", "model_version", *LINEAGE_KEYS, "bento_model")


def model_tag(family: str) -> str:
    """The BentoML model to serve: `DLOPS_MODEL_TAG` (set by `dlops serve` and the Bento)."""
    return os.environ.get("DLOPS_MODEL_TAG", f"dlops-{family}:latest")


def lineage_of(bento_model) -> dict[str, str]:
    """The served model's lineage, from the BentoML model's metadata."""
    meta = dict(bento_model.info.metadata)
    lineage = {key: str(meta.get(key) or "") for key in RESPONSE_LINEAGE}
    lineage[FAMILY] = lineage[FAMILY] or str(bento_model.info.labels.get(FAMILY, ""))
    lineage["bento_model"] = str(bento_model.tag)
    return lineage


@dataclass(frozen=True)
class Served:
    """A loaded model: the network, its typed card, its lineage, the batch limit, the input log."""

    model: Any
    card: Any
    lineage: dict[str, str]
    max_batch: int | None
    inputs: InputLog | None = None


def load(bento_model) -> Served:
    """Rebuild the network from the stored weights + card (never unpickled)."""
    from components.kinds.card import load_model

    model, card = load_model(Path(bento_model.path))
    max_batch = bento_model.info.metadata.get("max_batch")
    lineage = lineage_of(bento_model)
    inputs = from_environment(lineage["model_name"], lineage["model_version"])
    return Served(model, card, lineage, int(max_batch) if max_batch else None, inputs)


class InputLogging:
    """Base of the services that log their inputs: the log is written out at shutdown."""

    inputs: InputLog | None = None

    @bentoml.on_shutdown
    def close_input_log(self) -> None:
        """Write what the input log still buffers (a stopped server loses no answered row)."""
        if self.inputs is not None:
            self.inputs.close()


def log_inputs(inputs: InputLog | None, build: Callable[[], dict[str, Any]]) -> None:
    """Log the columns `build()` makes when the input log samples this request; never raises.

    `build` is the kind's `inference.logged` on the checked inputs: only called when sampled.
    """
    if inputs is None or not inputs.sampled():
        return
    try:
        inputs.record(build())
    except Exception as exc:  # an answer never fails for its log
        logging.getLogger("dlops.inputs").warning("served inputs not logged: %s", exc)


def bad_request(message: str, status: int = 422) -> JSONResponse:
    """A 4xx with a JSON body naming what is wrong (`RequestErrors` adds the lineage)."""
    return JSONResponse({"error": message}, status_code=status)


def _where(loc: list) -> str:
    """A validation error's location in the request's terms: `history[3]`, `records[0].age`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def request_error(body: Any) -> str:
    """One message for an error body: pydantic's details as `field: what it must be`."""
    if isinstance(body, list) and body:  # BentoML wraps some errors in a one-item list
        body = body[0]
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    if not isinstance(body, dict):
        return "malformed request"
    details = body.get("detail")
    if isinstance(details, str) and details:  # Starlette's HTTPException
        return details
    if isinstance(details, list) and details:
        phrases = []
        for detail in details[:5]:
            message = str(detail.get("msg", "invalid")).removeprefix("Value error, ")
            where = _where(detail.get("loc") or [])
            phrases.append(f"{where}: {message}" if where else message)
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        return "; ".join(phrases) + more
    return str(body.get("error") or "malformed request")


class RequestErrors:
    """ASGI middleware: every 4xx body says what is wrong in the request's terms, with lineage.

    BentoML answers a request that fails its input model with pydantic's summary, which names
    internal classes (`...IODescriptor`); this rewrites such bodies, and the services' own
    4xx answers, as `{"error": "field: what it must be", <lineage>}`.
    """

    def __init__(self, app, bento_model):
        self.app = app
        self.bento_model = bento_model
        self._lineage: dict[str, str] | None = None

    def lineage(self) -> dict[str, str]:
        if self._lineage is None:
            # the class attribute is a reference; the service instance sees it resolved
            self._lineage = lineage_of(self.bento_model.resolve())
        return self._lineage

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start: dict | None = None
        chunks: list[bytes] = []

        async def rewrite(message):
            nonlocal start
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                start = message  # held back until the whole body is here
                return None
            if start is None:
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return None
            try:
                body = json.loads(b"".join(chunks) or b"null")
            except ValueError:
                body = {"error": b"".join(chunks).decode(errors="replace")[:500]}
            message = request_error(body) if body else HTTPStatus(start["status"]).phrase
            payload = json.dumps({"error": message, **self.lineage()}).encode()
            headers = [
                (k, v)
                for k, v in start.get("headers", [])
                if k.lower() not in (b"content-length", b"content-type")
            ]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
            await send({**start, "headers": headers})
            return await send({"type": "http.response.body", "body": payload})

        return await self.app(scope, receive, rewrite)


MAX_BODY_BYTES = 256 * 1024 * 1024  # a whole request; each file has its own, smaller limit
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


class FormGuard:
    """ASGI middleware: a form body that does not parse gets a 400, not BentoML's 500.

    BentoML parses forms before the API method runs and answers a parse error (Starlette's
    HTTPException 400) with a 500; this checks the body first and replays it unchanged.
    """

    def __init__(self, app, file_fields: dict[str, set[str]] | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES):  # fmt: skip
        self.app = app
        self.file_fields = file_fields or {}  # route → the form fields that must be uploads
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
        # BentoML would fetch a text value of a file field as a URL: uploads only
        for name in sorted(self.file_fields.get(scope.get("path", ""), ())):
            for i, value in enumerate(form.getlist(name)):
                if isinstance(value, str):
                    message = f"{name}[{i}]: expected an uploaded file, got a text field"
                    return await bad_request(message)(scope, receive, send)
        return await self.app(scope, replay(), send)


def file_fields(service) -> dict[str, set[str]]:
    """Each API route's parameters that take files (`Path` or `list[Path]`)."""
    return {
        api.route: {
            name
            for name, field in api.input_spec.model_fields.items()
            if "Path" in str(field.annotation)
        }
        for api in service.apis.values()
    }


def guarded(service) -> None:
    """Add the request middlewares to a service: errors rewritten (outermost), forms checked."""
    service.add_asgi_middleware(RequestErrors, bento_model=service.inner.bento_model)
    service.add_asgi_middleware(FormGuard, file_fields=file_fields(service))
