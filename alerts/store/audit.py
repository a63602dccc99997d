"""The audit log table: append inside the caller's transaction, read in order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple

import sqlite_utils

from alerts.audit import GENESIS_HASH
from alerts.audit import Entry
from alerts.audit import entry_hash

_COLUMNS = "id, at, actor, actor_unit, action, object, detail, ip, prev_hash, hash"


def append(db: sqlite_utils.Database, entry: Entry) -> int:
    """Chain an entry to the last one and insert it; the caller holds BEGIN IMMEDIATE."""
    row = db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = row[0] if row else GENESIS_HASH
    cursor = db.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [*astuple(entry), prev_hash, entry_hash(prev_hash, entry)],
    )
    return cursor.lastrowid


def iter_rows(db: sqlite_utils.Database) -> Iterator[dict]:
    """Yield every entry in order, as dicts."""
    cursor = db.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY id")
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def recent(
    db: sqlite_utils.Database, *, units: list[str] | None = None, limit: int = 50
) -> list[dict]:
    """Return the newest entries, optionally only those of some units (by unit code)."""
    sql = f"SELECT {_COLUMNS} FROM audit_log"
    params: list = []
    if units is not None:
        sql += f" WHERE actor_unit IN ({', '.join('?' * len(units)) or 'NULL'})"
        params += units
    cursor = db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def for_objects(db: sqlite_utils.Database, objects: list[str]) -> list[dict]:
    """Return the entries about some objects (e.g. "alert:7"), oldest first."""
    marks = ", ".join("?" * len(objects)) or "NULL"
    cursor = db.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE object IN ({marks}) ORDER BY id", objects
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def count_actions(db: sqlite_utils.Database, action: str) -> int:
    """Return how many entries record an action."""
    return db.execute("SELECT count(*) FROM audit_log WHERE action = ?", [action]).fetchone()[0]


def last_issued_id(db: sqlite_utils.Database) -> int:
    """Return the highest id ever issued (AUTOINCREMENT keeps it even if rows vanish)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    return row[0] if row else 0
