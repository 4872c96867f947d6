"""The promotion ledger: one MLflow run per decision in the `promotions` experiment.

Entries are only ever added, each while the model's decision lock is held
(`order.decision_turn`): numbered by the store's own order (the highest number plus one, read
under the lock), and chained: each entry's `champion_before` is the entry before's
`champion_after`, and the `champion` alias equals the last entry's `champion_after`. An entry is
written `pending` before its alias move and `done` after; a process killed in between leaves a
pending entry, which the next decision of the model settles first (`done` when the alias moved,
`void` when it did not). Replaying the entries that are not void gives the history of
champions, which is what `rollback` walks back along.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import asdict, dataclass, replace

from components import tags as tag
from components.project import Project
from components.tracking import runs

EXPERIMENT = tag.LEDGER_EXPERIMENT
MOVES_CHAMPION = {"first", "promote", "manual-promote", "force-promote"}
REPORTED = MOVES_CHAMPION | {"reject", "rollback"}  # the decisions with an HTML report


@dataclass(frozen=True)
class Entry:
    """One decision, as the ledger stores it."""

    seq: int
    family: str
    model_name: str
    # first | promote | reject | manual-promote | force-promote | rollback | accept-data-change
    # | failed (a run that registered a version, then failed before the gate decided)
    action: str
    version: str  # the version decided on (the challenger, or the rollback's target)
    champion_before: str
    champion_after: str
    metric: str
    reason: str
    actor: str
    time: str
    challenger_score: float | None = None
    champion_score: float | None = None
    interval_low: float | None = None
    interval_high: float | None = None
    p_value: float | None = None
    run_id: str = ""
    # the HTML report: its local path where it was written, else the ledger run's artifact
    report: str = ""
    detail: str = ""  # an accepted data change: how the contract's profile changed
    cause: str = ""  # what started the run decided on, e.g. `drift:<drift check's run id>`
    state: str = "done"  # pending | done | void (see the module's docstring)


def report_name(entry: Entry) -> str:
    """The file name of an entry's HTML report (an artifact of the entry's run)."""
    return f"{entry.model_name}-{entry.seq:04d}-{entry.action}.html"


def actor() -> str:
    """Who acts: the operating-system user (a pipeline run says `pipeline`)."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def entries(model_name: str, include_void: bool = False) -> list[Entry]:
    """The ledger entries of `model_name`, oldest first (read without importing MLflow).

    Void entries (a decision whose alias move never happened) only with `include_void`.
    """
    from components.tracking.store import reader

    rows = []
    for row in reader().ledger_rows(model_name):
        if row.state == "void" and not include_void:
            continue
        params, metrics = row.params, row.metrics
        rows.append(
            Entry(
                seq=int(params["seq"]),
                family=params["family"],
                model_name=params["model_name"],
                action=params["action"],
                version=params["version"],
                champion_before=params.get("champion_before", ""),
                champion_after=params.get("champion_after", ""),
                metric=params.get("metric", ""),
                reason=params.get("reason", ""),
                actor=params.get("actor", ""),
                time=params.get("time", ""),
                detail=params.get("detail", ""),
                cause=params.get("cause", ""),
                **{
                    k: metrics.get(k)
                    for k in (
                        "challenger_score",
                        "champion_score",
                        "interval_low",
                        "interval_high",
                        "p_value",
                    )
                },
                run_id=row.run_id,
                state=row.state,
            )
        )
    # the report travels with the run: `mlflow artifacts download -u runs:/<run>/<file>`
    rows = [
        replace(e, report=f"runs:/{e.run_id}/{report_name(e)}") if e.action in REPORTED else e
        for e in rows
    ]
    return sorted(rows, key=lambda e: e.seq)


def record(project: Project, entry: Entry) -> Entry:
    """Append `entry` as a pending run, numbered here; returns it with its run id.

    Only under the model's decision lock (`order.decision_turn`): the number is the highest so
    far plus one, and `settle` marks the entry once its alias move is done.
    """
    experiment_id = runs.ensure_experiment(project, EXPERIMENT)
    seq = max((e.seq for e in entries(entry.model_name, include_void=True)), default=0) + 1
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    entry = Entry(**{**asdict(entry), "seq": seq, "time": stamp, "state": "pending"})
    run = runs.client().create_run(
        experiment_id,
        run_name=f"{entry.family} {entry.action} v{entry.version} {stamp}",
        tags={
            tag.RUN_KIND: "promotion",
            tag.FAMILY: entry.family,
            "action": entry.action,
            tag.LEDGER_STATE: "pending",
        },
    )
    values = asdict(entry)
    metric_keys = ("challenger_score", "champion_score", "interval_low", "interval_high", "p_value")
    runs.log_params(
        run.info.run_id,
        {k: str(values[k])[:6000] for k in values if k not in (*metric_keys, "run_id", "state")},
    )
    runs.log_metrics(run.info.run_id, {k: values[k] for k in metric_keys if values[k] is not None})
    runs.end_run(run.info.run_id, ok=True)
    return Entry(**{**values, "run_id": run.info.run_id})


def pending_models() -> list[str]:
    """The models with a pending entry: decisions a killed process left half-applied."""
    experiment = runs.client().get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    found = runs.client().search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{tag.LEDGER_STATE}` = 'pending'",
        max_results=1000,
    )
    return sorted({r.data.params["model_name"] for r in found if "model_name" in r.data.params})


def settle(entry: Entry, state: str) -> Entry:
    """Mark a pending entry `done` (its alias move happened) or `void` (it never will)."""
    runs.set_tags(entry.run_id, {tag.LEDGER_STATE: state})
    return replace(entry, state=state)


def broken_links(ledger: list[Entry], champion: str | None) -> list[str]:
    """Where the chain of champions breaks, in words (empty: the ledger is whole).

    Each entry's `champion_before` must be the previous entry's `champion_after`, numbers must
    be unique, and the alias must be the last entry's `champion_after`.
    """
    problems, previous = [], None
    numbers = [e.seq for e in ledger]
    if len(numbers) != len(set(numbers)):
        problems.append(f"entry numbers repeat: {sorted(numbers)}")
    for entry in ledger:
        if entry.state == "pending":
            problems.append(f"#{entry.seq} {entry.action} is still pending")
        if previous is not None and entry.champion_before != previous.champion_after:
            problems.append(
                f"#{entry.seq} {entry.action} replaced v{entry.champion_before or '-'}, but "
                f"#{previous.seq} left v{previous.champion_after or '-'} champion"
            )
        previous = entry
    last = previous.champion_after if previous else ""
    if ledger and (champion or "") != last:
        problems.append(f"the alias is v{champion or '-'}, the last entry's v{last or '-'}")
    return problems


def rollback_target(model_name: str) -> str:
    """The champion before the current one, which `rollback` returns to; DlopsError if none."""
    from components.project import DlopsError

    chain = champion_chain(entries(model_name))
    if len(chain) < 2:
        raise DlopsError(f"{model_name} has no earlier champion to roll back to")
    return chain[-2]


def champion_chain(ledger: list[Entry]) -> list[str]:
    """Champions in the order they took office; a rollback removes the latest one."""
    chain: list[str] = []
    for entry in ledger:
        if entry.action in MOVES_CHAMPION:
            if not chain and entry.champion_before:  # a champion from before the ledger began
                chain.append(entry.champion_before)
            chain.append(entry.champion_after)
        elif entry.action == "rollback" and chain:
            chain.pop()
    return chain
