"""Notification hooks: one log line and a JSON POST per configured webhook, never an exception."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args
from urllib.parse import urlsplit

from components.settings import Event, NotifySettings, WebhookSettings

log = logging.getLogger("dlops.notify")

RETRY_PAUSE_S = 0.5  # wait before the single retry of a connection error or a 5xx answer
_WARN_EVENTS = ("validation_failed", "failed", "drift_detected", "serve_refused")
REASON_CHARS = 300  # the summary's reason is cut here; the payload's `reason` stays whole


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Notification:
    """What happened to a model family, as sent to every hook.

    Attributes:
        event: One of "promoted", "rejected", "validation_failed", "failed", "drift_detected",
            "serve_refused" (a running service refused to switch to a new champion).
        family: Model family, e.g. "mlp".
        model_name: Registered model name.
        version: Registered version the event is about.
        champion: Champion version after the event.
        data_version: Version of the data the run used.
        run_id: MLflow run id.
        reason: Human explanation (the gate's reason, the validation failure message).
        report: Path of the HTML report or Data Docs index.
        time: ISO-8601 UTC time of the event.
    """

    event: Event
    family: str
    model_name: str
    version: str | None = None
    champion: str | None = None
    data_version: str | None = None
    run_id: str | None = None
    reason: str = ""
    report: str | None = None
    time: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.event not in get_args(Event):
            raise ValueError(f"unknown notification event {self.event!r}")

    def summary(self) -> str:
        """What happened, in a few words, e.g. "mlp v3 promoted to champion"."""
        model = f"{self.family} v{self.version}" if self.version else self.family
        if self.event == "promoted":
            text = f"{model} promoted to champion"
        elif self.event == "rejected":
            stays = f", champion stays v{self.champion}" if self.champion else ", no champion"
            text = f"{model} rejected{stays}"
        elif self.event == "validation_failed":
            data = f" {self.data_version}" if self.data_version else ""
            text = f"{self.family}: data{data} failed validation"
        elif self.event == "drift_detected":
            text = f"{model}: served inputs drifted from its training data"
        elif self.event == "serve_refused":
            keeps = f", the service keeps v{self.champion}" if self.champion else ""
            text = f"{model} not switched to{keeps}"
        else:
            text = f"{model} pipeline failed"
        reason = _one_line(self.reason)
        if len(reason) > REASON_CHARS:
            reason = reason[: REASON_CHARS - 1] + "…"
        return f"{text} ({reason})" if reason else text

    def payload(self) -> dict[str, Any]:
        """JSON body of a webhook POST; `text` is the one-line summary chat webhooks show."""
        return {"text": f"dlops: {self.summary()}", **asdict(self)}

    def line(self) -> str:
        """The log line: the summary, then the fields a reader greps for."""
        context = {
            "model": self.model_name,
            "champion": self.champion,
            "data_version": self.data_version,
            "run_id": self.run_id,
            "report": self.report,
        }
        fields = " ".join(f"{key}={value}" for key, value in context.items() if value)
        return f"{self.event}: {self.summary()} [{fields}]"


def notify(settings: NotifySettings, notification: Notification) -> list[str]:
    """Call every configured hook; a failing hook is logged as a warning, never raised.

    Args:
        settings: The hooks to call.
        notification: The event to report.

    Returns:
        One line per hook that failed; empty when every hook succeeded.
    """
    if settings.log:
        level = logging.WARNING if notification.event in _WARN_EVENTS else logging.INFO
        log.log(level, notification.line())
    problems = []
    for index, hook in enumerate(settings.webhooks):
        if notification.event not in hook.events:
            continue
        try:
            problem = _deliver(hook, notification.payload())
        except Exception as error:  # a notification never breaks the pipeline
            problem = f"unexpected {type(error).__name__}"
        if problem:
            problem = f"webhook {index + 1} ({_name(hook)}): {problem}"
            log.warning("notification %r not delivered: %s", notification.event, problem)
            problems.append(problem)
    return problems


def _name(hook: WebhookSettings) -> str:
    """The webhook as it may be logged: the env variable's name and the host, never the URL."""
    url = hook.url if hook.url is not None else os.environ.get(hook.url_env or "", "").strip()
    if not url:
        return f"${hook.url_env}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "no host"
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        host = "invalid URL"
    return f"${hook.url_env} {host}" if hook.url_env else host


def _deliver(hook: WebhookSettings, payload: dict[str, Any]) -> str | None:
    """POST the payload; retry once on a connection error or a 5xx answer. The problem, if any."""
    import httpx

    url = hook.url if hook.url is not None else os.environ.get(hook.url_env or "", "").strip()
    if not url:
        return f"environment variable {hook.url_env} is not set"
    for attempt in (1, 2):
        retry = attempt == 1
        try:
            response = httpx.post(url, json=payload, headers=hook.headers, timeout=hook.timeout_s)
        except httpx.TimeoutException:
            return f"no answer within {hook.timeout_s:g} s"
        except httpx.NetworkError as error:
            # httpx's messages name the OS error, not the URL; scrub it anyway
            problem = f"{type(error).__name__}: {str(error).replace(url, '<url>')}"
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {str(error).replace(url, '<url>')}"
        else:
            if response.is_success:
                return None
            problem = f"answered HTTP {response.status_code} {response.reason_phrase}".rstrip()
            retry = retry and response.is_server_error
        if not retry:
            break
        time.sleep(RETRY_PAUSE_S)
    return problem if attempt == 1 else f"{problem} (after a retry)"
