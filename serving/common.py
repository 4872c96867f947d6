"""What every family's service shares: the model tag, loading by our code, lineage, errors.

Services import a kind's inference module and this module only: no training code, no MLflow,
Prefect, GX or DVC (an import-linter contract in pyproject.toml says so).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, TypeVar

import bentoml
from starlette.responses import JSONResponse

from components.runtime.input_log import InputLog, from_environment
from components.runtime.service_spec import Answer, ServiceSpec
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


FOLLOW_ENV = "DLOPS_FOLLOW"  # the alias a service follows ("champion"); unset: pinned
MODEL_NAME_ENV = "DLOPS_MODEL_NAME"  # the registered model followed (default: the start model's)
POLL_ENV = "DLOPS_POLL_SECONDS"  # how often the alias is read
MAX_BATCH_ENV = "DLOPS_MAX_BATCH"  # the serving.max_batch setting, for models fetched by version
NOTIFY_ENV = "DLOPS_NOTIFY"  # the notify settings (JSON) a failed switch is reported to
SHADOW_ENV = "DLOPS_SHADOW"  # the alias shadowed beside the served model ("challenger"); unset: off
SHADOW_RATE_ENV = "DLOPS_SHADOW_RATE"  # the share of requests also sent to the shadow
SHADOW_LOG_ENV = "DLOPS_SHADOW_LOG"  # the folder of the shadow logs (<model>/shadow.jsonl)
ANSWERING: contextvars.ContextVar[str] = contextvars.ContextVar("dlops_answering", default="")
log = logging.getLogger("dlops.serving")


class Metrics:
    """The services' Prometheus metrics, labelled by the model and version that answered.

    Beside BentoML's own (`bentoml_service_*`), on the same `/metrics`. Created in the worker
    process on first use: BentoML sets up its multiprocess collection after importing the
    service module.
    """

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        labels = ("model", "version", "endpoint")
        self.requests = Counter(
            "dlops_requests", "Requests answered, by model version and status",
            (*labels, "status"),
        )  # fmt: skip
        self.latency = Histogram(
            "dlops_request_duration_seconds", "Time to answer, by model version", labels
        )
        self.items = Histogram(
            "dlops_request_items", "Items per request (rows, texts, images, files)",
            ("model", "version"), buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096),
        )  # fmt: skip
        self.switches = Counter("dlops_model_switches", "Switches to a new version", ("model",))
        self.refusals = Counter(
            "dlops_model_refusals", "New versions not switched to (failed to load or answer)",
            ("model",),
        )  # fmt: skip


_metrics: list[Metrics] = []


def metrics() -> Metrics:
    """This process's metrics (created once)."""
    if not _metrics:
        _metrics.append(Metrics())
    return _metrics[0]


class Measured:
    """ASGI middleware: each API request counted and timed under the model version serving."""

    def __init__(self, app, routes: dict):
        self.app = app
        self.routes = routes

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path not in self.routes:
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def sent(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            return await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            current = ACTIVE[0].current if ACTIVE and ACTIVE[0].current is not None else None
            name, version = (
                (current.lineage["model_name"], current.version) if current else ("", "")
            )
            found = metrics()
            found.requests.labels(name, version, path, str(status[0])).inc()
            found.latency.labels(name, version, path).observe(time.perf_counter() - start)


@dataclass(frozen=True, eq=False)
class Served:
    """A loaded model: the network, its typed card, its lineage, the batch limit, the input log."""

    model: Any
    card: Any
    lineage: dict[str, str]
    max_batch: int | None
    inputs: InputLog | None = None

    @property
    def version(self) -> str:
        return self.lineage.get("model_version", "")


def _served(
    folder: Path, lineage: dict[str, str], max_batch: int | None, logged: bool = True
) -> Served:
    """Rebuild the network from the stored weights + card (never unpickled)."""
    from components.kinds.card import load_model

    model, card = load_model(folder)
    inputs = from_environment(lineage["model_name"], lineage["model_version"]) if logged else None
    served = Served(model, card, lineage, max_batch, inputs)
    if inputs is not None:  # the log is written out once no request holds the model
        weakref.finalize(served, inputs.close)
    return served


def load(bento_model, logged: bool = True) -> Served:
    """The model of a BentoML store entry (`logged`: with its served-input log)."""
    max_batch = bento_model.info.metadata.get("max_batch")
    limit = int(max_batch) if max_batch else None
    return _served(Path(bento_model.path), lineage_of(bento_model), limit, logged)


def _stored(model_name: str, version: str, run_id: str):
    """The BentoML store's entry of a registry version, if this machine's store has it."""
    import bentoml

    try:
        found = bentoml.models.list(model_name)
    except Exception:  # no such model in the store
        return None
    for item in found:
        meta = item.info.metadata
        if str(meta.get("model_version")) == version and meta.get("run_id") == run_id:
            return item
    return None


def load_version(
    model_name: str, version: str, max_batch: int | None, logged: bool = True
) -> Served:
    """A registry version, loaded and checked: it must answer its logged input example.

    From the local BentoML store when it holds the version, else from the registry's artifacts
    (downloaded once into the local cache). `logged`: with its served-input log (a shadowed
    version has none: only the served model's inputs are logged).
    """
    from components.kinds.card import predict
    from components.tracking import registry_client

    facts = registry_client.version_facts(model_name, version)
    stored = _stored(model_name, version, facts.run_id)
    if stored is not None:
        served, root = load(stored, logged), Path(stored.path)
    else:
        root = registry_client.fetch(facts)
        lineage = {
            **facts.lineage(),
            "bento_model": f"{model_name}:v{version}-{facts.run_id[:12].lower()}",
        }
        served = _served(root / "artifacts" / "model", lineage, max_batch, logged)
    example = registry_client.example(root)
    if example is not None:
        predict(served.model, served.card, example)  # raises: the version is not switched to
    return served


class Models:
    """The model a service answers with now, following its registry alias unless pinned.

    A watcher thread reads the alias every `DLOPS_POLL_SECONDS`; a new version is loaded beside
    the current one and must answer its logged input example before the reference is swapped
    (one assignment: a request that started on the old model finishes on it, and the old model
    is freed once no request holds it). A version that fails to load or answer is refused: the
    old one keeps serving, the failure is logged and notified, and it is not tried again.
    """

    def __init__(self, family: str, start) -> None:
        self.family = family
        self.alias = os.environ.get(FOLLOW_ENV, "").strip()
        following = bool(self.alias and os.environ.get("MLFLOW_TRACKING_URI"))
        env_batch = os.environ.get(MAX_BATCH_ENV)
        self.max_batch = int(env_batch) if env_batch else None
        self.current: Served | None = None
        try:
            self.current = load(start())
        except Exception:  # nothing stored here: a following service starts from the registry
            if not following:
                raise
        self.model_name = os.environ.get(MODEL_NAME_ENV) or (
            self.current.lineage["model_name"] if self.current else f"dlops-{family}"
        )
        self.refused: set[str] = set()
        self.switches = 0
        self.shadow_alias = os.environ.get(SHADOW_ENV, "").strip()
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            self.shadow_alias = ""
        self.shadow: Served | None = None  # the shadowed version (see `Shadowing`)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.following = following
        if following and self.current is None:  # serve nothing until the alias' version is here
            version = self._aliased(self.alias)
            if version is None:
                raise RuntimeError(f"{self.model_name} has no {self.alias!r} alias to serve")
            self.current = load_version(self.model_name, version, self.max_batch)
        if not (following or self.shadow_alias):
            return
        self.poll = float(os.environ.get(POLL_ENV, "10") or 10)
        self._thread = threading.Thread(target=self._watch, name="dlops-follow", daemon=True)
        self._thread.start()

    def _aliased(self, alias: str) -> str | None:
        from components.tracking import registry_client

        return registry_client.alias_version(self.model_name, alias)

    def _watch(self) -> None:
        while True:  # at once first: the start model may not be the alias' version
            if self.following:
                self.check()
            if self.shadow_alias:
                self.check_shadow()
            if self._stop.wait(self.poll):
                return

    def check_shadow(self) -> None:
        """Load the shadowed alias' version when it moved (none while it is the one served)."""
        try:
            version = self._aliased(self.shadow_alias)
        except Exception as exc:
            log.warning("%s: alias %r not read: %s", self.model_name, self.shadow_alias, exc)
            return
        if version is None or version == self.current.version:
            self.shadow = None
            return
        if (self.shadow and self.shadow.version == version) or version in self.refused:
            return
        try:
            shadow = load_version(self.model_name, version, self.max_batch, logged=False)
        except Exception as exc:
            self.refused.add(version)
            log.error("%s v%s not shadowed: %s: %s", self.model_name, version,
                      type(exc).__name__, exc)  # fmt: skip
            return
        self.shadow = shadow
        log.info("%s: shadowing v%s (%s) beside v%s", self.model_name, version,
                 self.shadow_alias, self.current.version)  # fmt: skip

    def check(self) -> str | None:
        """Switch to the alias' version if it moved; returns the version switched to."""
        try:
            version = self._aliased(self.alias)
        except Exception as exc:  # the registry is away: keep serving, ask again next time
            log.warning("%s: alias %r not read: %s", self.model_name, self.alias, exc)
            return None
        if version is None or version == self.current.version or version in self.refused:
            return None
        start = time.perf_counter()
        try:
            served = load_version(self.model_name, version, self.max_batch)
        except Exception as exc:
            self.refused.add(version)
            metrics().refusals.labels(self.model_name).inc()
            self._refuse(version, f"{type(exc).__name__}: {exc}")
            return None
        old, self.current = self.current, served  # the switch: one reference assignment
        self.switches += 1
        metrics().switches.labels(self.model_name).inc()
        log.info(
            "%s: switched v%s -> v%s (%s %r) in %.2f s",
            self.model_name, old.version, version, self.alias, self.model_name,
            time.perf_counter() - start,
        )  # fmt: skip
        return version

    def _refuse(self, version: str, reason: str) -> None:
        log.error("%s v%s not served (keeping v%s): %s", self.model_name, version,
                  self.current.version, reason)  # fmt: skip
        raw = os.environ.get(NOTIFY_ENV)
        if not raw:
            return
        from components.notifications.hooks import Notification, notify
        from components.settings import NotifySettings

        notify(
            NotifySettings.model_validate_json(raw),
            Notification(
                "serve_refused", self.family, self.model_name, version=version,
                champion=self.current.version, reason=reason,
            ),
        )  # fmt: skip

    def close(self) -> None:
        self._stop.set()


A = TypeVar("A", bound=Answer)
ACTIVE: list[Models] = []  # the service's models in this worker (error bodies name them)


class ModelService:
    """Base of every family's service; a family's file keeps only its API methods.

    The base owns loading and following the model, limits, the input log, uploads,
    `/metadata`, and the lineage on every answer.

    An API method takes `served = self.served` once and answers from it alone: a switch to a new
    champion while the request runs never mixes two models in one answer.
    """

    family: ClassVar[str]
    inference: ClassVar[ModuleType]  # the kind's inference module (`describe(card)`)
    spec: ClassVar[ServiceSpec]
    bento_model: ClassVar[Any]

    def __init__(self) -> None:
        self.models = Models(self.family, lambda: self.bento_model)
        ACTIVE[:] = [self.models]

    @property
    def served(self) -> Served:
        """The model answering now (a reference: it stays valid for the whole request).

        The shadowed version, when `Shadowing` replays a request to it.
        """
        if ANSWERING.get() == "shadow" and self.models.shadow is not None:
            return self.models.shadow
        return self.models.current

    def max_batch(self, served: Served) -> int:
        """The model's `serving.max_batch`, within the kind's ceiling."""
        return min(served.max_batch or self.spec.max_batch, self.spec.max_batch)

    def refused_batch(self, served: Served, n: int, what: str) -> JSONResponse | None:
        """A 4xx when a request carries no item or more than the limit, else None."""
        metrics().items.labels(served.lineage["model_name"], served.version).observe(n)
        if n == 0:
            return bad_request(f"{what}: send at least one")
        limit = self.max_batch(served)
        if n > limit:
            return bad_request(f"{what}: a batch of {n} exceeds the limit of {limit}", 413)
        return None

    def uploads(
        self, served: Served, files: list[Path], what: str, decode: Callable[[Path], Any]
    ) -> list | JSONResponse:
        """Each uploaded file decoded, or the 4xx naming the first one empty, too big or bad."""
        refused = self.refused_batch(served, len(files), what)
        if refused is not None:
            return refused
        limit = served.card.max_file_bytes
        decoded = []
        for i, path in enumerate(files):
            size = path.stat().st_size
            if size == 0 or size > limit:
                message = f"{what}[{i}]: {size} bytes, expected 1 to {limit}"
                return bad_request(message, status=413 if size else 422)
            try:
                decoded.append(decode(path))
            except ValueError as exc:
                return bad_request(f"{what}[{i}]: {exc}")
        return decoded

    @staticmethod
    def log(served: Served, build: Callable[[], dict[str, Any]]) -> None:
        """Log the request's inputs when the input log samples it (never fails the answer).

        A shadowed version has no input log: its requests were logged when they were answered.
        """
        log_inputs(served.inputs, build)

    @staticmethod
    def answer(served: Served, typed: type[A], body: dict[str, Any]) -> A:
        """The kind's typed answer, with the lineage of the model that produced it."""
        return typed.model_validate({**body, **served.lineage})

    @bentoml.api
    def metadata(self) -> dict[str, Any]:
        """The served model's lineage, input schema and limits; whether it follows an alias."""
        served = self.served
        return {
            **served.lineage,
            **self.inference.describe(served.card),
            "max_batch": self.max_batch(served),
            "follows": self.models.alias if self.models.following else None,
            "switches": self.models.switches,
            "shadow": self.models.shadow.version if self.models.shadow else None,
        }

    @bentoml.on_shutdown
    def close(self) -> None:
        """Stop following; write what the input log still buffers (no answered row is lost)."""
        self.models.close()
        if self.served is not None and self.served.inputs is not None:
            self.served.inputs.close()


def declared(family: str, inference: ModuleType, spec: ServiceSpec):
    """Class decorator: the family's BentoML service on `ModelService`, its model and limits."""

    def declare(cls: type[ModelService]):
        cls.family, cls.inference, cls.spec = family, inference, spec
        cls.bento_model = bentoml.models.BentoModel(model_tag(family))
        service = bentoml.service(
            name=f"dlops-{family}", resources={"cpu": "1"}, traffic={"timeout": spec.timeout_s}
        )(cls)
        guarded(service)
        return service

    return declare


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
        if ACTIVE and ACTIVE[0].current is not None:  # the model answering now
            return ACTIVE[0].current.lineage
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


MAX_BODY_BYTES = 256 * 1024 * 1024  # an upload request; each file has its own, smaller limit
MAX_JSON_BYTES = 32 * 1024 * 1024  # a JSON request
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class Route:
    """What an API route takes: JSON fields, or uploads (`Path` fields) in a multipart form."""

    fields: frozenset[str]
    files: frozenset[str]


def routes(service) -> dict[str, Route]:
    """Each API route's input fields and which of them take files (`Path` or `list[Path]`)."""
    found = {}
    for api in service.apis.values():
        fields = api.input_spec.model_fields
        files = {name for name, field in fields.items() if "Path" in str(field.annotation)}
        found[api.route] = Route(frozenset(fields), frozenset(files))
    return found


class RequestGuard:
    """ASGI middleware: a request BentoML would answer with a 5xx gets a 4xx naming the problem.

    Checked before BentoML parses anything, the body read once and replayed unchanged:
    - the content type the route takes: JSON routes refuse forms, upload routes refuse anything
      but a multipart form (415);
    - the body's size (413), an empty body where the route has inputs (422), JSON that is not
      UTF-8 or not an object (400, 422);
    - a form that does not parse (400), a text value in a file field (422; BentoML would fetch
      it as a URL).
    """

    def __init__(self, app, routes: dict[str, Route], max_body_bytes: int = MAX_BODY_BYTES,
                 max_json_bytes: int = MAX_JSON_BYTES):  # fmt: skip
        self.app = app
        self.routes = routes
        self.max_body_bytes = max_body_bytes
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope, receive, send):
        from starlette.requests import Request

        route = self.routes.get(scope.get("path", "")) if scope["type"] == "http" else None
        if route is None or scope.get("method") != "POST":
            return await self.app(scope, receive, send)
        content_type = Request(scope).headers.get("content-type", "").lower()
        is_form = content_type.startswith(FORMS)
        if route.files and not content_type.startswith("multipart/form-data"):
            fields = ", ".join(f"`{name}`" for name in sorted(route.files))
            sent = content_type.split(";")[0] or "no content type"
            message = f"send the files as multipart/form-data (field {fields}), not {sent}"
            return await bad_request(message, 415)(scope, receive, send)
        if not route.files and is_form:
            sent = content_type.split(";")[0]
            message = f"send a JSON object (content-type application/json), not {sent}"
            return await bad_request(message, 415)(scope, receive, send)
        limit = self.max_body_bytes if route.files else self.max_json_bytes
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                refused = bad_request(f"request body exceeds {limit} bytes", 413)
                return await refused(scope, receive, send)
        body = b"".join(chunks)
        problem = await (self._form(scope, body, route) if is_form else self._json(body, route))
        if problem is not None:
            return await problem(scope, receive, send)
        return await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _json(body: bytes, route: Route) -> JSONResponse | None:
        if not body.strip():
            return bad_request("empty body: send a JSON object") if route.fields else None
        try:
            parsed = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return bad_request("request body is not UTF-8 text", 400)
        except ValueError as exc:
            return bad_request(f"Invalid JSON: {exc}", 400)
        if not isinstance(parsed, dict):
            return bad_request(f"send a JSON object, not {type(parsed).__name__}")
        return None

    @staticmethod
    async def _form(scope, body: bytes, route: Route) -> JSONResponse | None:
        from starlette.requests import Request

        try:
            form = await Request(scope, _replay(body, None)).form()
            await form.close()
        except Exception as exc:  # any parse failure is the client's body
            message = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            return bad_request(f"malformed form body: {message}", 400)
        for name, value in form.multi_items():
            if name in route.files and isinstance(value, str):  # BentoML would fetch it as a URL
                index = [v for k, v in form.multi_items() if k == name].index(value)
                return bad_request(f"{name}[{index}]: expected an uploaded file, got a text field")
            if name not in route.files and not isinstance(value, str):
                return bad_request(f"{name}: expected a value, got an uploaded file")
        return None


def _replay(body: bytes, receive):
    """An ASGI `receive` that gives the body once, then the client's own messages."""
    sent = False

    async def receive_again():
        nonlocal sent
        if sent and receive is not None:
            return await receive()
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


ANSWER_KEYS = ("predictions", "translations", "transcripts", "actions", "forecast", "images")


def answers_of(body: Any) -> list | None:
    """The per-item answers of a response, reduced to what two models may agree on."""
    if not isinstance(body, dict):
        return None
    for key in ANSWER_KEYS:
        if isinstance(body.get(key), list):
            return [_primary(item) for item in body[key]]
    return None


def _primary(item: Any) -> Any:
    if isinstance(item, dict):
        for key in ("class", "translation", "text"):
            if key in item:
                return item[key]
        if "detections" in item:
            return sorted(d["label"] for d in item["detections"])
    return item


class Shadowing:
    """ASGI middleware: a sample of requests is answered again by the shadowed version.

    After the served model's answer has gone out, the same request is replayed to the app with
    `ANSWERING` set to "shadow" (the service answers it from `Models.shadow`), in a task of its
    own: the client never waits for it. Both answers' versions, statuses, latencies and how many
    items they agree on go to `<DLOPS_SHADOW_LOG>/<model>/shadow.jsonl`, which `dlops shadow
    report` summarises into an MLflow run.
    """

    def __init__(self, app, routes: dict[str, Route]):
        self.app = app
        self.routes = {path for path, route in routes.items() if route.fields}
        self.rate = float(os.environ.get(SHADOW_RATE_ENV, "0.1") or 0.1)
        self.folder = os.environ.get(SHADOW_LOG_ENV, "")
        self.tasks: set[asyncio.Task] = set()  # held until done

    async def __call__(self, scope, receive, send):
        models = ACTIVE[0] if ACTIVE else None
        if (
            scope["type"] != "http"
            or scope.get("path") not in self.routes
            or models is None
            or models.shadow is None
            or not self.folder
            or random.random() >= self.rate
        ):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        answer, status, started = [], [0], time.perf_counter()

        async def captured(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
            return await send(message)

        await self.app(scope, _replay(body, receive), captured)
        served_s = time.perf_counter() - started
        if status[0] == 200:
            task = asyncio.get_running_loop().create_task(
                self._shadow(scope, body, b"".join(answer), served_s)
            )
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return None

    async def _shadow(self, scope, body: bytes, served_answer: bytes, served_s: float) -> None:
        answer, status = [], [0]

        async def captured(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                answer.append(message.get("body", b""))

        ANSWERING.set("shadow")  # this task's own context
        started = time.perf_counter()
        try:
            await self.app(dict(scope), _replay(body, None), captured)
        except Exception as exc:  # the shadow's failure is logged, never the client's
            log.warning("shadow request failed: %s", exc)
        shadow_s = time.perf_counter() - started
        try:
            first = json.loads(served_answer)
            second = json.loads(b"".join(answer) or b"null")
        except ValueError:
            return
        mine, theirs = answers_of(first), answers_of(second)
        agree = None
        if mine is not None and theirs is not None and len(mine) == len(theirs):
            agree = sum(a == b for a, b in zip(mine, theirs, strict=True))
        record = {
            "time": time.time(),
            "route": scope.get("path"),
            "model_name": first.get("model_name"),
            "champion": first.get("model_version"),
            "challenger": second.get("model_version") if isinstance(second, dict) else None,
            "status": status[0],
            "items": len(mine) if mine is not None else None,
            "agree": agree,
            "champion_ms": round(served_s * 1000, 3),
            "challenger_ms": round(shadow_s * 1000, 3),
        }
        folder = Path(self.folder) / str(record["model_name"])
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "shadow.jsonl", "a") as out:
            out.write(json.dumps(record) + "\n")


def guarded(service) -> None:
    """Add the request middlewares; outermost first: measured, errors, bodies, shadow."""
    service.add_asgi_middleware(Measured, routes=routes(service))
    service.add_asgi_middleware(RequestErrors, bento_model=service.inner.bento_model)
    service.add_asgi_middleware(RequestGuard, routes=routes(service))
    service.add_asgi_middleware(Shadowing, routes=routes(service))
