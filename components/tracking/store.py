"""Read-only questions to the tracking store, for the commands that only read.

`dlops status`, `history` and a refused `rollback` change nothing. On the embedded SQLite store
they read its tables with the standard library's sqlite3 (tens of milliseconds, where importing
MLflow alone takes over 3 s); any other store (a tracking server) is asked through MlflowClient.
Both readers return the same plain values: a test holds them together on one store.
"""

from __future__ import annotations

import math
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from components import tags as tag

DELETED = "Deleted_Internal"  # MLflow's stage for a deleted model version


@dataclass(frozen=True)
class RunFacts:
    """A run's id, status and start (ms)."""

    run_id: str
    status: str
    start_time: int  # milliseconds since the epoch


@dataclass(frozen=True)
class LedgerRow:
    """One ledger run's params and metrics, and its state (`tags.LEDGER_STATE`)."""

    run_id: str
    params: dict[str, str]
    metrics: dict[str, float]
    state: str = "done"  # entries from before states were kept are done


class Reader(Protocol):
    """What the read-only commands ask the tracking store."""

    def alias_version(self, model_name: str, alias: str) -> str | None: ...
    def latest_version(self, model_name: str) -> str | None: ...
    def models(self, family: str) -> list[str]: ...
    def default_model(self, family: str) -> str | None: ...
    def version_tags(self, model_name: str, version: str) -> tuple[str, dict[str, str]]: ...
    def run_metric(self, run_id: str, key: str) -> float | None: ...
    def latest_run(self, model_name: str, kind: str) -> RunFacts | None: ...
    def ledger_rows(self, model_name: str) -> list[LedgerRow]: ...


class SqliteReader:
    """MLflow's SQLite tables, read-only (the schema of the MLflow the lock pins)."""

    def __init__(self, path: Path):
        self.path = path

    def _rows(self, sql: str, *args) -> list[tuple]:
        with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return db.execute(sql, args).fetchall()

    def readable(self) -> bool:
        """True when the database has the tables this reader asks (an MLflow-made store)."""
        try:
            self._rows("select 1 from registered_model_aliases, latest_metrics limit 0")
        except sqlite3.Error:
            return False
        return True

    def alias_version(self, model_name: str, alias: str) -> str | None:
        found = self._rows(
            "select version from registered_model_aliases where name = ? and alias = ?",
            model_name,
            alias,
        )
        return str(found[0][0]) if found else None

    def latest_version(self, model_name: str) -> str | None:
        found = self._rows(
            "select max(version) from model_versions where name = ? and current_stage != ?",
            model_name,
            DELETED,
        )
        return None if not found or found[0][0] is None else str(found[0][0])

    def models(self, family: str) -> list[str]:
        found = self._rows(
            "select name from registered_model_tags where key = ? and value = ?",
            tag.FAMILY,
            family,
        )
        return sorted(name for (name,) in found)

    def default_model(self, family: str) -> str | None:
        found = self._rows(
            "select d.name from registered_model_tags d join registered_model_tags f "
            "on f.name = d.name and f.key = ? and f.value = ? where d.key = ? "
            "order by cast(d.value as integer) desc limit 1",
            tag.FAMILY,
            family,
            tag.DEFAULT_SINCE,
        )
        return found[0][0] if found else None

    def version_tags(self, model_name: str, version: str) -> tuple[str, dict[str, str]]:
        run = self._rows(
            "select run_id from model_versions where name = ? and version = ?",
            model_name,
            int(version),
        )
        tags = self._rows(
            "select key, value from model_version_tags where name = ? and version = ?",
            model_name,
            int(version),
        )
        return (run[0][0] if run else ""), dict(tags)

    def run_metric(self, run_id: str, key: str) -> float | None:
        found = self._rows(
            "select value, is_nan from latest_metrics where run_uuid = ? and key = ?", run_id, key
        )
        return _metric(*found[0]) if found else None

    def latest_run(self, model_name: str, kind: str) -> RunFacts | None:
        found = self._rows(
            "select r.run_uuid, r.status, r.start_time from runs r "
            "join tags m on m.run_uuid = r.run_uuid and m.key = ? and m.value = ? "
            "join tags k on k.run_uuid = r.run_uuid and k.key = ? and k.value = ? "
            "where r.lifecycle_stage = 'active' order by r.start_time desc limit 1",
            tag.MODEL,
            model_name,
            tag.RUN_KIND,
            kind,
        )
        return RunFacts(*found[0]) if found else None

    def ledger_rows(self, model_name: str) -> list[LedgerRow]:
        ids = [
            run_id
            for (run_id,) in self._rows(
                "select r.run_uuid from runs r "
                "join experiments e on e.experiment_id = r.experiment_id "
                "join params p on p.run_uuid = r.run_uuid "
                "where e.name = ? and r.lifecycle_stage = 'active' "
                "and p.key = 'model_name' and p.value = ?",
                tag.LEDGER_EXPERIMENT,
                model_name,
            )
        ]
        rows = []
        for run_id in ids:
            params = dict(self._rows("select key, value from params where run_uuid = ?", run_id))
            metrics = self._rows(
                "select key, value, is_nan from latest_metrics where run_uuid = ?", run_id
            )
            state = self._rows(
                "select value from tags where run_uuid = ? and key = ?", run_id, tag.LEDGER_STATE
            )
            rows.append(
                LedgerRow(
                    run_id,
                    params,
                    {k: _metric(v, nan) for k, v, nan in metrics},
                    state[0][0] if state else "done",
                )
            )
        return rows


def _metric(value: float, is_nan: int) -> float:
    """MLflow's SQL store keeps a NaN as 0 with `is_nan` set."""
    return math.nan if is_nan else float(value)


class ClientReader:
    """The same questions through MlflowClient, for any tracking store."""

    def __init__(self):
        from mlflow import MlflowClient

        self.client = MlflowClient()  # on MLFLOW_TRACKING_URI; this reader never writes

    def alias_version(self, model_name: str, alias: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(model_name, alias).version)
        except MlflowException:
            return None

    def latest_version(self, model_name: str) -> str | None:
        found = self.client.search_model_versions(f"name='{model_name}'")
        return max((str(v.version) for v in found), key=int, default=None)

    def models(self, family: str) -> list[str]:
        found = self.client.search_registered_models(
            filter_string=f"tags.{tag.FAMILY} = '{family}'", max_results=1000
        )
        return sorted(m.name for m in found)

    def default_model(self, family: str) -> str | None:
        found = self.client.search_registered_models(
            filter_string=f"tags.{tag.FAMILY} = '{family}'", max_results=1000
        )
        stamped = [
            (int(m.tags[tag.DEFAULT_SINCE]), m.name) for m in found if tag.DEFAULT_SINCE in m.tags
        ]
        return max(stamped)[1] if stamped else None

    def version_tags(self, model_name: str, version: str) -> tuple[str, dict[str, str]]:
        found = self.client.get_model_version(model_name, version)
        return found.run_id, dict(found.tags)

    def run_metric(self, run_id: str, key: str) -> float | None:
        return self.client.get_run(run_id).data.metrics.get(key)

    def latest_run(self, model_name: str, kind: str) -> RunFacts | None:
        experiments = [e.experiment_id for e in self.client.search_experiments()]
        found = self.client.search_runs(
            experiments,
            filter_string=(
                f"tags.`{tag.MODEL}` = '{model_name}' and tags.`{tag.RUN_KIND}` = '{kind}'"
            ),
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not found:
            return None
        info = found[0].info
        return RunFacts(info.run_id, info.status, info.start_time)

    def ledger_rows(self, model_name: str) -> list[LedgerRow]:
        experiment = self.client.get_experiment_by_name(tag.LEDGER_EXPERIMENT)
        if experiment is None:
            return []
        found = self.client.search_runs(
            [experiment.experiment_id],
            filter_string=f"params.model_name = '{model_name}'",
            max_results=50_000,
        )
        return [
            LedgerRow(
                r.info.run_id,
                dict(r.data.params),
                dict(r.data.metrics),
                r.data.tags.get(tag.LEDGER_STATE, "done"),
            )
            for r in found
        ]


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI, if it is one."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?")[0])


def reader() -> Reader:
    """SQLite read directly when the tracking store is the embedded database, else MlflowClient."""
    path = sqlite_path(os.environ.get("MLFLOW_TRACKING_URI", ""))
    if path is not None and not path.is_file():  # nothing tracked yet: nothing to answer
        return EmptyReader()
    if path is not None and (fast := SqliteReader(path)).readable():
        return fast
    return ClientReader()  # a tracking server, or a database MLflow has yet to migrate


class EmptyReader:
    """A store that does not exist yet: no models, no runs, no ledger."""

    def alias_version(self, model_name: str, alias: str) -> str | None:
        return None

    def latest_version(self, model_name: str) -> str | None:
        return None

    def models(self, family: str) -> list[str]:
        return []

    def default_model(self, family: str) -> str | None:
        return None

    def version_tags(self, model_name: str, version: str) -> tuple[str, dict[str, str]]:
        return "", {}

    def run_metric(self, run_id: str, key: str) -> float | None:
        return None

    def latest_run(self, model_name: str, kind: str) -> RunFacts | None:
        return None

    def ledger_rows(self, model_name: str) -> list[LedgerRow]:
        return []
