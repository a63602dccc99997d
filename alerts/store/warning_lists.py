"""Lists of warnings for the staff's day: their own work, what waits for review, and search.

Each query reads the ``warnings`` table through its indexed columns (unit, status, author);
text is matched on the folded headline, description and code, so "lua dao" finds "lừa đảo".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from alerts.store import like_pattern
from alerts.store.warnings import _COLUMNS
from alerts.store.warnings import _alert
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

_TEXT = (
    "fold(COALESCE(content ->> '$.headline', '') || ' ' ||"
    " COALESCE(content ->> '$.description', '') || ' ' || COALESCE(code, ''))"
)
# What a warning's date is for a search: when it went out, else when it was drafted.
_WHEN = "COALESCE(published_at, created_at)"


@dataclass(frozen=True)
class Query:
    """What to look for; None or empty means any. Times are stored UTC text bounds."""

    unit_ids: tuple[int, ...] | None = None
    words: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    warning_type: str | None = None
    statuses: tuple[Status, ...] | None = None
    mode: str | None = None
    since: str | None = None
    before: str | None = None


def _in(column: str, values: Iterable) -> tuple[str, list]:
    values = list(values)
    return f"{column} IN ({', '.join('?' * len(values)) or 'NULL'})", values


def _where(query: Query) -> tuple[str, list]:
    parts: list[tuple[str, list]] = []
    if query.unit_ids is not None:
        parts.append(_in("unit_id", query.unit_ids))
    if query.statuses is not None:
        parts.append(_in("status", (s.value for s in query.statuses)))
    parts += [(f"{_TEXT} LIKE ? ESCAPE '\\'", [like_pattern(w)]) for w in query.words]
    if query.regions:
        sql, params = _in("region_code", query.regions)
        parts.append((f"id IN (SELECT warning_id FROM warning_regions WHERE {sql})", params))
    if query.warning_type:
        parts.append(("content ->> '$.warning_type' = ?", [query.warning_type]))
    if query.mode:
        parts.append(("mode = ?", [query.mode]))
    if query.since:
        parts.append((f"{_WHEN} >= ?", [query.since]))
    if query.before:
        parts.append((f"{_WHEN} < ?", [query.before]))
    clause = " AND ".join(sql for sql, _ in parts) or "1"
    return clause, [p for _, params in parts for p in params]


def search(db: sqlite_utils.Database, query: Query, *, limit: int, offset: int = 0) -> list[Alert]:
    """Return the revisions matching ``query``, newest change first."""
    clause, params = _where(query)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warnings WHERE {clause}"
        " ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [_alert(r) for r in rows]


def count(db: sqlite_utils.Database, query: Query) -> int:
    """Return how many revisions match ``query``."""
    clause, params = _where(query)
    return db.execute(f"SELECT COUNT(*) FROM warnings WHERE {clause}", params).fetchone()[0]


def authored(
    db: sqlite_utils.Database, user_id: int, statuses: Iterable[Status], *, limit: int
) -> list[Alert]:
    """Return the revisions a user drafted in these statuses, newest change first."""
    sql, params = _in("status", (s.value for s in statuses))
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warnings WHERE created_by = ? AND {sql}"
        " ORDER BY updated_at DESC, id DESC LIMIT ?",
        [user_id, *params, limit],
    )
    return [_alert(r) for r in rows]


def count_authored(db: sqlite_utils.Database, user_id: int, statuses: Iterable[Status]) -> int:
    """Return how many revisions a user drafted are in these statuses."""
    sql, params = _in("status", (s.value for s in statuses))
    row = db.execute(
        f"SELECT COUNT(*) FROM warnings WHERE created_by = ? AND {sql}", [user_id, *params]
    ).fetchone()
    return row[0]


def _awaiting(unit_ids: Iterable[int] | None, reviewer_id: int) -> tuple[str, list]:
    """Return the clause of submitted revisions of these units that the reviewer did not write."""
    clause = (
        "status = 'submitted' AND created_by != ? AND NOT EXISTS (SELECT 1 FROM"
        " warning_editors e WHERE e.warning_id = warnings.id AND e.user_id = ?)"
    )
    params: list = [reviewer_id, reviewer_id]
    if unit_ids is not None:
        sql, ids = _in("unit_id", unit_ids)
        clause, params = f"{clause} AND {sql}", params + ids
    return clause, params


def awaiting(
    db: sqlite_utils.Database, unit_ids: Iterable[int] | None, reviewer_id: int, *, limit: int
) -> list[Alert]:
    """Return what waits for review in these units (None: all), oldest submission first."""
    clause, params = _awaiting(unit_ids, reviewer_id)
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warnings WHERE {clause} ORDER BY submitted_at, id LIMIT ?",
        [*params, limit],
    )
    return [_alert(r) for r in rows]


def count_awaiting(
    db: sqlite_utils.Database, unit_ids: Iterable[int] | None, reviewer_id: int
) -> int:
    """Return how many revisions wait for review in these units (None: all)."""
    clause, params = _awaiting(unit_ids, reviewer_id)
    return db.execute(f"SELECT COUNT(*) FROM warnings WHERE {clause}", params).fetchone()[0]
