"""SQLite connections shared safely by the web app and a separate worker process.

Every connection runs in WAL mode with synchronous=FULL (approvals and deliveries are
evidence and must survive power loss), foreign keys on and a busy timeout. Connections are
opened in autocommit mode and every multi-statement write goes through ``write()``, which
starts with BEGIN IMMEDIATE: taking the write lock up front lets the busy handler wait,
where a deferred transaction that upgrades would fail at once with "database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from flask import Flask
from flask import current_app
from flask import g

from alerts.text import fold

# The outbox's statements use the ->> operator and UPDATE ... FROM (SQLite 3.38, 2022).
MIN_SQLITE = (3, 38, 0)


class SQLiteTooOld(RuntimeError):
    """The SQLite library Python was built with is older than MIN_SQLITE."""


def open_db(path: str | Path, busy_timeout_ms: int = 5000) -> sqlite_utils.Database:
    """Open the database file with our pragmas; the caller closes it."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        needed = ".".join(map(str, MIN_SQLITE))
        raise SQLiteTooOld(f"SQLite {sqlite3.sqlite_version} is too old: alerts needs {needed}+")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path),
        timeout=busy_timeout_ms / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.create_function("fold", 1, fold, deterministic=True)
    return sqlite_utils.Database(conn)


def file_of(db: sqlite_utils.Database) -> str:
    """Return the file a connection has open (another thread opens its own to it)."""
    return db.execute("PRAGMA database_list").fetchone()[2]


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block as one atomic write transaction (BEGIN IMMEDIATE ... COMMIT).

    Nested use joins the outer transaction through a savepoint, so a store function that
    writes can be called alone or as part of a larger business operation.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.execute("COMMIT")  # a full disk may fail the commit itself: roll back then
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise


def get_db() -> sqlite_utils.Database:
    """Return this request's (or CLI command's) connection, opening it on first use."""
    if "db" not in g:
        g.db = open_db(current_app.config["DATABASE"], current_app.config["BUSY_TIMEOUT_MS"])
    return g.db


def kept_reader() -> sqlite_utils.Database:
    """Return this thread's connection kept open for the app's reads on every request.

    Opening a connection (its pragmas, WAL's shared memory) and closing it cost more than
    a hot public page itself (issue 17). Each statement on it in autocommit mode is its
    own read transaction, so it sees every commit made before it, like a fresh one. Only
    for reads that leave no statement open (fetch every row); writes use ``get_db()``.
    """
    kept = current_app.extensions.setdefault("alerts.kept_readers", threading.local())
    if getattr(kept, "db", None) is None:
        kept.db = open_db(current_app.config["DATABASE"], current_app.config["BUSY_TIMEOUT_MS"])
    return kept.db


def close_db(_error: BaseException | None = None) -> None:
    """Close the connection at the end of the request or app context."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    """Close the connection after every request and CLI command."""
    app.teardown_appcontext(close_db)
