"""The reach counters (m019): views of a warning's portal page and CAP document and checks
of its code, per minute, and the indicators residents look up, per day. Counts only:
nothing here can say who looked."""

from __future__ import annotations

import json

import sqlite_utils


def add_views(db: sqlite_utils.Database, counts: list[tuple[int, str, str, int]]) -> None:
    """Add ``(warning_id, kind, minute, n)`` to the counters, in the caller's ``write``."""
    db.execute(
        "INSERT INTO reach_views (warning_id, kind, minute, count)"
        " SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]'"
        " FROM json_each(?) WHERE true"
        " ON CONFLICT (warning_id, kind, minute) DO UPDATE SET count = count + excluded.count",
        [json.dumps(counts)],
    )


def add_lookups(db: sqlite_utils.Database, counts: list[tuple[str, str, str, int]]) -> None:
    """Add ``(day, kind, key, n)`` to the lookup counters, in the caller's ``write``."""
    db.execute(
        "INSERT INTO reach_lookups (day, kind, key, count)"
        " SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]'"
        " FROM json_each(?) WHERE true"
        " ON CONFLICT (day, kind, key) DO UPDATE SET count = count + excluded.count",
        [json.dumps(counts)],
    )


def views(db: sqlite_utils.Database, warning_ids: list[int]) -> list[tuple[str, str, int]]:
    """Return ``(kind, minute, count)`` of the revisions' counters, oldest first."""
    return db.execute(
        "SELECT kind, minute, SUM(count) FROM reach_views"
        " WHERE warning_id IN (SELECT value FROM json_each(?))"
        " GROUP BY kind, minute ORDER BY minute, kind",
        [json.dumps(warning_ids)],
    ).fetchall()


def top_lookups(
    db: sqlite_utils.Database, unit_ids: list[int] | None, since_day: str, limit: int
) -> list[tuple[str, str, int]]:
    """Return ``(kind, value, looked_up)`` of the phone numbers, accounts and links looked up
    most since ``since_day`` that the units' warnings list (every unit's: None)."""
    scope = None if unit_ids is None else json.dumps(unit_ids)
    return db.execute(
        "SELECT l.kind, (SELECT MIN(value) FROM warning_indicators"
        " WHERE kind = l.kind AND key = l.key), SUM(l.count)"
        " FROM reach_lookups l WHERE l.day >= ? AND EXISTS (SELECT 1 FROM warning_indicators i"
        " JOIN warnings w ON w.id = i.warning_id WHERE i.kind = l.kind AND i.key = l.key"
        " AND (? IS NULL OR w.unit_id IN (SELECT value FROM json_each(?))))"
        " GROUP BY l.kind, l.key ORDER BY 3 DESC, 2 LIMIT ?",
        [since_day, scope, scope, limit],
    ).fetchall()
