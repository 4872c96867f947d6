"""What the CLI prints: the pipeline's summary table and the per-family status."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from components import tags as tag
from components.project import Project


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
        "family",
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
            o["family"],
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
        if o["reason"]:
            console.print(f"{o['family']}: gate: {o['reason']}", soft_wrap=True)
        if o.get("report"):
            console.print(f"{o['family']}: promotion report: {o['report']}", soft_wrap=True)
        if o["message"]:
            style = "" if o["status"] == "skipped" else "red"
            console.print(f"{o['family']}: {o['message']}", style=style, soft_wrap=True)
        if o["docs"]:
            console.print(f"{o['family']}: Data Docs: {o['docs']}", soft_wrap=True)
    console.print("MLflow UI: [bold]dlops ui[/bold] (http://127.0.0.1:5000)")
    for o in outcomes:
        if o["status"] == "ok":
            console.print(f"Serve {o['family']}: [bold]dlops serve {o['family']}[/bold]")


def _time(millis: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(millis / 1000))


def family_status(project: Project, family: str) -> dict[str, Any]:
    """Registry and tracking facts of one family, as plain values."""
    from components.config import load_family
    from components.data.versioning import current_version
    from components.registry.versions import CHAMPION, alias_version, latest_version
    from components.tracking.runs import client

    settings = load_family(project, family)
    name = settings.model_name
    champion = alias_version(name, CHAMPION)
    experiments = [e.experiment_id for e in client().search_experiments()]

    def latest(kind: str):
        found = client().search_runs(
            experiments,
            filter_string=f"tags.{tag.FAMILY} = '{family}' and tags.`{tag.RUN_KIND}` = '{kind}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return found[0] if found else None

    trained, skipped = latest("training"), latest("skipped")
    runs = [trained] if trained else []
    last = max((r for r in (trained, skipped) if r), key=lambda r: r.info.start_time, default=None)
    metric = settings.gate.metric
    headline = None
    if champion is not None:
        champion_run = client().get_model_version(name, champion).run_id
        headline = client().get_run(champion_run).data.metrics.get(metric)
    return {
        "family": family,
        "model_name": name,
        "champion_version": champion,
        "latest_version": latest_version(name),
        "data_version": current_version(project),
        "last_run_id": runs[0].info.run_id if runs else None,
        "last_run_status": runs[0].info.status if runs else None,
        # what the latest run or retrain did: trained, or skipped because nothing changed
        "last_check": None if last is None else ("skipped" if last is skipped else "trained"),
        "last_check_time": None if last is None else _time(last.info.start_time),
        "metric": metric,
        "champion_metric": headline,
    }


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
    for r in rows:
        value = "-" if r["champion_metric"] is None else f"{r['metric']}={r['champion_metric']:.4f}"
        table.add_row(
            r["family"],
            r["model_name"],
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
            e.reason,
        )
    _console().print(table)
