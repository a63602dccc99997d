"""Whether the database takes a write: the probe of /healthz, and this process's memory of
the last write the disk refused.

A full disk is invisible to reads: pages render and /healthz's SELECTs succeed while every
write fails ("database or disk is full"). So /healthz writes, twice, cheaply, leaving nothing
behind:

- ``health_probe``'s one row, changed in its own transaction: the whole SQLite write path
  (write lock, WAL append, commit) answers. That commit alone skips the fsync
  (synchronous=NORMAL, sqlite.org/pragma.html#pragma_synchronous): the row is worthless, and
  a polled endpoint must not flush the disk on every call.
- a small file next to the database, written and removed: a WAL that once grew is reused from
  its start without asking for new space (sqlite.org/wal.html, "WAL file reset"), so only a
  fresh allocation shows that the disk has no room left for the writes that do.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

import sqlite_utils

from alerts.db import write
from alerts.errors import storage_fault

# Room for an ordinary write with margin: a draft and its audit entry append about ten 4 KiB
# pages to the WAL. With less than this free, the next writes are about to fail.
SPACE_PROBE_BYTES = 256 * 1024
_ZEROS = bytes(SPACE_PROBE_BYTES)
# The probe waits this long for a writer (the worker's fan-out) before answering "busy".
PROBE_BUSY_MS = 500


@dataclass(frozen=True)
class WriteFailure:
    """The last refused write: its fault, when failures began, and when the last one was."""

    error: str
    since: str
    at: str


_lock = threading.Lock()
_last: WriteFailure | None = None
log = logging.getLogger("alerts.storage")


def refused(db: sqlite_utils.Database | None, fault: str, where: str, at: str) -> None:
    """A write of a request the disk refused: roll back what the request began (SQLite may
    keep a transaction open after SQLITE_FULL), log it once by ``where`` (the route, never
    the path: residents' links carry their tokens) and remember it for /healthz. The pages
    and the API answer it each in their own way."""
    if db is not None:
        db.conn.rollback()
    log.error("Write refused by storage (%s): %s", fault, where)
    record_failure(fault, at)


def record_failure(error: str, at: str) -> None:
    """Remember that a write of this process failed (kept until a write succeeds)."""
    global _last
    with _lock:
        _last = replace(_last, error=error, at=at) if _last else WriteFailure(error, at, at)


def record_success() -> None:
    """Forget the last failure: a write of this process went through."""
    global _last
    with _lock:
        _last = None


def last_failure() -> WriteFailure | None:
    """Return the last write failure of this process, None if a write succeeded since."""
    return _last


def probe(
    db: sqlite_utils.Database, database_path: str, now: str, *, row: bool = True
) -> str | None:
    """Try the writes (the row only if ``row``: its table exists once migrations ran); return
    why the database cannot take a write, or None when it can.

    A reason starting "SQLITE_BUSY" means another writer held the lock for the whole wait.
    """
    try:
        _probe_space(Path(database_path).parent)
        if row:
            _probe_row(db, now)
    except (sqlite3.Error, OSError) as error:
        return _describe(error)
    return None


def _probe_row(db: sqlite_utils.Database, now: str) -> None:
    """Change the probe's row (a short wait for the lock, no fsync), then restore the
    connection's settings."""
    busy_ms = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_MS}")
    db.execute("PRAGMA synchronous = NORMAL")
    try:
        with write(db):
            db.execute(
                "INSERT INTO health_probe (id, at, probes) VALUES (1, ?, 1)"
                " ON CONFLICT (id) DO UPDATE SET at = excluded.at, probes = probes + 1",
                [now],
            )
    finally:
        db.conn.rollback()  # after a failed COMMIT SQLite may keep the transaction open
        db.execute("PRAGMA synchronous = FULL")
        db.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


def _probe_space(directory: Path) -> None:
    """Write SPACE_PROBE_BYTES to a new file in ``directory`` (ENOSPC if there is no room).

    The file is unlinked before the write: its blocks are still allocated while it is open,
    and nothing is left behind even if the process dies here.
    """
    fd, name = tempfile.mkstemp(prefix=".alerts-healthz-", dir=directory)
    os.unlink(name)
    try:
        view = memoryview(_ZEROS)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _describe(error: BaseException) -> str:
    """Return a fault's name and SQLite's or the OS's words for it (no path, no values)."""
    if isinstance(error, OSError):
        name = errno.errorcode.get(error.errno or 0, type(error).__name__)
        return f"{name}: {error.strerror}"
    name = storage_fault(error) or getattr(error, "sqlite_errorname", type(error).__name__)
    return f"{name}: {error}"
