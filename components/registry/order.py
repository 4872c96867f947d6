"""The order of record for a model's promotions: one decision at a time, on the database's lock.

MLflow's API has no conditional alias update. Every decision that reads the champion, appends
to the ledger and may move the alias (the gate, `promote`, `rollback`, an accepted data change)
does so holding the model's lock, taken from the database the tracking store lives in:

- PostgreSQL: a session advisory lock on the model's key (`pg_advisory_lock`), on a connection
  of its own; the server releases it when the connection closes, also when the process dies.
  The database is the tracking store's own (`MLFLOW_TRACKING_URI=postgresql://…`), or, behind a
  tracking server, the one `DLOPS_REGISTRY_DATABASE_URL` names (`dlops stack env` exports it).
- SQLite (the embedded default): an exclusive write transaction (`BEGIN IMMEDIATE`) on a small
  database beside the tracking store's (`registry-locks.db`); SQLite releases it with the
  process. One machine shares a SQLite store, so one lock for every model is enough.
- a tracking server without `DLOPS_REGISTRY_DATABASE_URL`: a file lock on this machine only
  (decisions from two machines are then ordered by the check after the move, not prevented).

Nothing here is a lock server of its own: the locks are the database's, and die with their
holder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from components.project import DlopsError

DATABASE_ENV = "DLOPS_REGISTRY_DATABASE_URL"
WAIT_S = 600  # how long a decision waits for another one of the same model
log = logging.getLogger(__name__)


def lock_database() -> str | None:
    """The database URL whose lock orders decisions (None: a machine-local file lock)."""
    explicit = os.environ.get(DATABASE_ENV)
    if explicit:
        return explicit
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
        return uri
    return None


def _key(model_name: str) -> int:
    """A stable signed 64-bit key of the model's name (PostgreSQL's advisory lock key)."""
    return int.from_bytes(hashlib.sha256(model_name.encode()).digest()[:8], "big", signed=True)


def _postgres_url(url: str) -> str:
    """A URL psycopg takes: SQLAlchemy's `postgresql+driver://` without the driver."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}"


@contextmanager
def _postgres_lock(url: str, model_name: str) -> Iterator[None]:
    import psycopg

    try:
        connection = psycopg.connect(_postgres_url(url), autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        where = url.split("@")[-1]
        raise DlopsError(
            f"the registry's database at {where} ({DATABASE_ENV} or MLFLOW_TRACKING_URI) "
            f"cannot be reached: {' '.join(str(exc).split())}"
        ) from None
    with connection:
        connection.execute(f"set lock_timeout = '{WAIT_S}s'")
        try:
            connection.execute("select pg_advisory_lock(%s)", (_key(model_name),))
        except psycopg.errors.LockNotAvailable:
            raise DlopsError(
                f"another decision of {model_name} has held its lock for {WAIT_S} s: try later"
            ) from None
        try:
            yield
        finally:
            connection.execute("select pg_advisory_unlock(%s)", (_key(model_name),))


def sqlite_lock_file(url: str) -> Path:
    """The lock database beside a `sqlite:///` tracking store's file."""
    from components.tracking.store import sqlite_path

    path = sqlite_path(url)
    if path is None:
        raise DlopsError(f"not a SQLite URL: {url}")
    return path.parent / "registry-locks.db"


@contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    path = sqlite_lock_file(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(str(path), timeout=WAIT_S, isolation_level=None)
    try:
        connection.execute("begin immediate")  # waits while another process holds it
        try:
            yield
        finally:
            connection.execute("rollback")  # nothing was written: the lock was the point
    finally:
        connection.close()


@contextmanager
def _file_lock(model_name: str) -> Iterator[None]:
    from filelock import FileLock

    folder = Path.home() / ".cache" / "dlops" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(model_name.encode()).hexdigest()[:16]
    with FileLock(str(folder / f"registry-{digest}.lock"), timeout=WAIT_S):
        yield


@contextmanager
def decision_turn(model_name: str) -> Iterator[None]:
    """Hold `model_name`'s lock: no other decision of the model reads or moves meanwhile."""
    url = lock_database()
    if url is None:
        log.info("no registry database (%s): %s's decisions are ordered on this machine only",
                 DATABASE_ENV, model_name)  # fmt: skip
        with _file_lock(model_name):
            yield
    elif url.startswith("sqlite:"):
        with _sqlite_lock(url):
            yield
    else:
        with _postgres_lock(url, model_name):
            yield
