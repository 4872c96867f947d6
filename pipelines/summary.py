"""What the CLI prints: the pipeline's summary table and the per-family status."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from components import tags as tag
from components.project import Project, mlflow_ui
from components.settings import default_model_name


def _console() -> Console:
    # Wide enough for the tables when output goes to a file or CI log instead of a terminal.
    return Console() if Console().is_terminal else Console(width=160)


def _metric_text(metrics: dict[str, float] | None) -> str:
    if not metrics:
        return "-"
    return ", ".join(f"{k.removeprefix('test_')}={v:.4f}" for k, v in sorted(metrics.items()))


def print_summary(outcomes: list[dict[str, Any]]) -> None:
    """The table `dlops run` ends with, then each failure's message and the next commands."""
    console = _console()
    table = Table(title="dlops run")
    for column in (
        "model",
        "status",
        "data version",
        "test metrics",
        "registered",
        "champion",
        "decision",
        "bento",
    ):
        table.add_column(column)
    for o in outcomes:
        table.add_row(
            o["model_name"] or o["family"],
            o["status"],
            (o["data_version"] or "-")[:12],
            _metric_text(o["metrics"]),
            o["version"] or "-",
            o["champion"] or "-",
            o["decision"] or "-",
            o["bento"] or "-",
        )
    console.print(table)
    for o in outcomes:
        if o.get("verdict"):
            console.print(f"{o['family']}: against its baselines: {o['verdict']}", soft_wrap=True)
        if o["reason"]:
            console.print(f"{o['family']}: gate: {o['reason']}", soft_wrap=True)
        if o.get("report"):
            console.print(f"{o['family']}: promotion report: {o['report']}", soft_wrap=True)
        if o["message"]:
            style = "" if o["status"] == "skipped" else "red"
            console.print(f"{o['family']}: {o['message']}", style=style, soft_wrap=True)
        if o["docs"]:
            console.print(f"{o['family']}: Data Docs: {o['docs']}", soft_wrap=True)
    console.print(f"MLflow UI: {mlflow_ui()}", soft_wrap=True)
    for o in outcomes:
        if o["status"] == "ok":
            model = o["model_name"] or default_model_name(o["family"])
            option = "" if model == default_model_name(o["family"]) else f" --model {model}"
            console.print(f"Serve {model}: [bold]dlops serve {o['family']}{option}[/bold]")


def _time(millis: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(millis / 1000))


def model_status(project: Project, family: str, name: str) -> dict[str, Any]:
    """Registry and tracking facts of one registered model, as plain values."""
    from components.registry.versions import CHAMPION, default_model
    from components.tracking.store import reader

    store = reader()
    champion = store.alias_version(name, CHAMPION)
    trained, skipped = store.latest_run(name, "training"), store.latest_run(name, "skipped")
    last = max((r for r in (trained, skipped) if r), key=lambda r: r.start_time, default=None)
    metric = headline = data_version = None
    if champion is not None:
        run_id, tags = store.version_tags(name, champion)
        metric, data_version = tags.get(tag.GATE_METRIC), tags.get(tag.DATA_VERSION)
        headline = store.run_metric(run_id, metric) if metric else None
    return {
        "family": family,
        "model_name": name,
        "default": name == default_model(project, family),
        "champion_version": champion,
        "latest_version": store.latest_version(name),
        "data_version": data_version,  # the champion's: exactly the data it was trained on
        "last_run_id": trained.run_id if trained else None,
        "last_run_status": trained.status if trained else None,
        # what the latest run or retrain did: trained, or skipped because nothing changed
        "last_check": None if last is None else ("skipped" if last is skipped else "trained"),
        "last_check_time": None if last is None else _time(last.start_time),
        "metric": metric,
        "champion_metric": headline,
    }


def status_rows(project: Project, families: list[str], model: str | None) -> list[dict[str, Any]]:
    """One row per model: each family's built-in model and every model of the user's data."""
    from components.tracking.store import reader

    rows = []
    for family in families:
        names = {default_model_name(family), *reader().models(family)}
        rows += [model_status(project, family, n) for n in sorted(names) if model in (None, n)]
    return rows


def print_status(rows: list[dict[str, Any]]) -> None:
    table = Table(title="dlops status")
    for column in (
        "family",
        "model",
        "champion",
        "latest",
        "data version",
        "last run",
        "last check",
        "champion metric",
    ):
        table.add_column(column)
    several = Counter(r["family"] for r in rows)  # mark the default where there is a choice
    for r in rows:
        value = "-" if r["champion_metric"] is None else f"{r['metric']}={r['champion_metric']:.4f}"
        table.add_row(
            r["family"],
            r["model_name"] + (" (default)" if r["default"] and several[r["family"]] > 1 else ""),
            r["champion_version"] or "-",
            r["latest_version"] or "-",
            (r["data_version"] or "-")[:12],
            f"{(r['last_run_id'] or '-')[:12]} {r['last_run_status'] or ''}",
            f"{r['last_check']} {r['last_check_time']}" if r["last_check"] else "-",
            value,
        )
    _console().print(table)


def print_history(model_name: str, entries: list) -> None:
    """The ledger as a table, oldest first."""
    table = Table(title=f"promotion ledger of {model_name}")
    for column in (
        "#",
        "time",
        "action",
        "version",
        "champion",
        "challenger",
        "champion score",
        "interval",
        "p",
        "actor",
        "reason",
        "cause",
    ):
        table.add_column(column, overflow="fold")

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    for e in entries:
        interval = (
            "-" if e.interval_low is None else f"[{e.interval_low:+.4f}, {e.interval_high:+.4f}]"
        )
        table.add_row(
            str(e.seq),
            e.time,
            e.action,
            e.version,
            f"{e.champion_before or '-'} -> {e.champion_after or '-'}",
            number(e.challenger_score),
            number(e.champion_score),
            interval,
            "-" if e.p_value is None else f"{e.p_value:.3g}",
            e.actor,
            f"{e.reason}; changes: {e.detail}" if e.detail else e.reason,
            e.cause or "-",
        )
    _console().print(table)


def print_drift(rows: list[dict]) -> None:
    """Per model: the drift check's finding, what it triggered, and the retrain's outcome."""
    table = Table(title="drift checks (MLflow experiment `drift`)")
    for column in ("model", "champion", "served rows", "p", "moved", "status", "then", "run"):
        table.add_column(column, overflow="fold")
    for row in rows:
        check = row["check"]
        if check is None:
            status = "check failed" if row.get("error") else "not checked"
            table.add_row(row["model_name"], "-", "-", "-", "-", status, row.get("error", "-"), "-")
            continue
        then = check["reason"]
        if retrain := row.get("retrain"):
            decision = retrain.get("decision") or retrain["status"]
            then = f"retrained: v{retrain.get('version') or '-'} {decision}"
        table.add_row(
            row["model_name"],
            f"v{check['version']}",
            str(check["rows"]),
            "-" if check["p_value"] is None else f"{check['p_value']:.3g}",
            ", ".join(check["moved"]) or "-",
            check["status"],
            then,
            check["run_id"],
        )
    _console().print(table)
