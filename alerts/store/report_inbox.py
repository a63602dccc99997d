"""The unit's inbox of residents' reports: listing, reading, moving them through review,
grouping them by the scammer's indicators and counting them.

Filing, withdrawal and the purge write ``reports`` elsewhere (``alerts.store.reports``);
this module reads them for the staff and records what the staff decide. Every write runs
inside the caller's ``write`` transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from alerts.store.reports import Filing
from alerts.warnings.indicators import Indicator

# In the order of ``Report``'s fields: those of ``Filing`` first.
_COLUMNS = (
    "r.text, r.channel, r.account_id, r.contact_sealed, r.contact_masked, r.created_at,"
    " r.id, r.code, r.kind, r.region_code, r.unit_id, r.origin_unit_id, r.status,"
    " r.duplicate_of, r.reason, r.assigned_to, r.first_reviewed_at, r.updated_at,"
    " r.warning_id, EXISTS (SELECT 1 FROM report_images i WHERE i.report_id = r.id)"
)
# Reports that still wait for the unit: new ones, those forwarded to it, those in review.
OPEN = ("new", "forwarded", "in_review")
# Reports that count as what residents saw: not taken back, not set aside, not repeats.
COUNTED = "r.status NOT IN ('withdrawn', 'dismissed', 'duplicate')"
# The key of the notice that tells a reporter their report became a published warning:
# it is also the record that they were told (notices keep their key once sent).
PUBLISHED_KEY = "n-report-published-"


@dataclass(frozen=True)
class Report(Filing):
    """A report as the inbox shows it; the contact stays sealed (only the mask is shown)."""

    id: int
    code: str
    kind: str
    region_code: str
    unit_id: int
    origin_unit_id: int
    status: str
    duplicate_of: int | None
    reason: str | None
    assigned_to: int | None
    first_reviewed_at: str | None
    updated_at: str
    warning_id: int | None
    has_image: bool


@dataclass(frozen=True)
class Group:
    """One indicator reported in several reports: how many, from how many communes."""

    kind: str
    key: str
    value: str
    reports: int
    communes: int
    codes: tuple[str, ...]
    region_codes: tuple[str, ...]


def _report(row: tuple) -> Report:
    return Report(*row[:-1], has_image=bool(row[-1]))


def _in(column: str, values: list, params: list) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values)) or 'NULL'})"


def _scope(unit_ids: Iterable[int] | None, params: list) -> str:
    """Return the condition "at one of these units, or forwarded up from one" (None: all)."""
    if unit_ids is None:
        return "1"
    ids = list(unit_ids)
    return f"({_in('r.unit_id', ids, params)} OR {_in('r.origin_unit_id', ids, params)})"


def list_reports(
    db: sqlite_utils.Database,
    unit_ids: Iterable[int] | None,
    *,
    statuses: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Report]:
    """Return reports of the units (None: all), those waiting first, then newest first."""
    params: list = []
    where = [_scope(unit_ids, params)]
    if statuses is not None:
        where.append(_in("r.status", list(statuses), params))
    if kinds is not None:
        where.append(_in("r.kind", list(kinds), params))
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM reports r WHERE {' AND '.join(where)}"
        " ORDER BY r.status IN ('new', 'forwarded') DESC, r.created_at DESC, r.id DESC"
        " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [_report(r) for r in rows]


def count_reports(
    db: sqlite_utils.Database,
    unit_ids: Iterable[int] | None,
    *,
    statuses: Iterable[str] | None = None,
    at_unit: bool = False,
) -> int:
    """Return how many reports the units hold (``at_unit``: only those sitting there now,
    not those they forwarded up)."""
    params: list = []
    if at_unit and unit_ids is not None:
        where = [_in("r.unit_id", list(unit_ids), params)]
    else:
        where = [_scope(unit_ids, params)]
    if statuses is not None:
        where.append(_in("r.status", list(statuses), params))
    sql = f"SELECT COUNT(*) FROM reports r WHERE {' AND '.join(where)}"
    return db.execute(sql, params).fetchone()[0]


def get_by_code(db: sqlite_utils.Database, code: str) -> Report | None:
    """Return the report with this reference code, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM reports r WHERE r.code = ?", [code]).fetchone()
    return _report(row) if row else None


def get_by_id(db: sqlite_utils.Database, report_id: int) -> Report | None:
    """Return a report by its id, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM reports r WHERE r.id = ?", [report_id]).fetchone()
    return _report(row) if row else None


def indicators(db: sqlite_utils.Database, report_ids: Iterable[int]) -> dict[int, list]:
    """Return each report's indicators (kind, value, key), in a stable order."""
    params: list = []
    found: dict[int, list[Indicator]] = {}
    rows = db.execute(
        "SELECT report_id, kind, value, key FROM report_indicators"
        f" WHERE {_in('report_id', list(report_ids), params)} ORDER BY report_id, kind, value",
        params,
    )
    for report_id, kind, value, key in rows:
        found.setdefault(report_id, []).append(Indicator(kind, value, key))
    return found


def set_fields(db: sqlite_utils.Database, report_id: int, **values: object) -> None:
    """Update some columns of a report (names come from the domain, never from input)."""
    assignments = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE reports SET {assignments} WHERE id = ?", [*values.values(), report_id])


def link_warning(db: sqlite_utils.Database, report_ids: Iterable[int], warning_id: int) -> None:
    """Attach reports to the warning drafted from them (they are then kept past retention)."""
    params: list = [warning_id]
    db.execute(
        f"UPDATE reports SET warning_id = ? WHERE {_in('id', list(report_ids), params)}", params
    )


def groups(
    db: sqlite_utils.Database, unit_ids: Iterable[int] | None, since: str, limit: int = 50
) -> list[Group]:
    """Return the indicators reported in at least two counted reports since ``since``, in
    the units' jurisdiction, the most reported first."""
    params: list = [since]
    scope = _scope(unit_ids, params)
    rows = db.execute(
        "SELECT i.kind, i.key, MIN(i.value), COUNT(DISTINCT r.id), COUNT(DISTINCT r.region_code),"
        " json_group_array(DISTINCT r.code), json_group_array(DISTINCT r.region_code)"
        " FROM report_indicators i JOIN reports r ON r.id = i.report_id"
        f" WHERE r.created_at >= ? AND {COUNTED} AND {scope}"
        " GROUP BY i.kind, i.key HAVING COUNT(DISTINCT r.id) >= 2"
        " ORDER BY COUNT(DISTINCT r.id) DESC, MAX(r.created_at) DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        Group(
            kind,
            key,
            value,
            n,
            communes,
            tuple(sorted(json.loads(codes))),
            tuple(sorted(json.loads(rc))),
        )
        for kind, key, value, n, communes, codes, rc in rows
    ]


def review_delays(db: sqlite_utils.Database, unit_ids: Iterable[int] | None, since: str) -> list:
    """Return the seconds from arrival to first review of the units' reports reviewed since
    ``since`` (first review at the unit or before it forwarded them)."""
    params: list = [since]
    scope = _scope(unit_ids, params)
    rows = db.execute(
        "SELECT (julianday(r.first_reviewed_at) - julianday(r.created_at)) * 86400.0"
        f" FROM reports r WHERE r.first_reviewed_at >= ? AND {scope}",
        params,
    )
    return [max(0.0, r[0]) for r in rows]


def image(db: sqlite_utils.Database, report_id: int) -> tuple[str, bytes] | None:
    """Return a report's screenshot (MIME type, sealed bytes), or None."""
    row = db.execute(
        "SELECT mime, sealed FROM report_images WHERE report_id = ?", [report_id]
    ).fetchone()
    return (row[0], bytes(row[1])) if row else None


def published_untold(db: sqlite_utils.Database, limit: int = 200) -> list[tuple[Report, int]]:
    """Return (report, warning id) for reports whose warning is published (a real one, not a
    drill) and whose reporter can be reached and was not told yet."""
    rows = db.execute(
        f"SELECT {_COLUMNS}, w.id FROM reports r JOIN warnings w ON w.id = r.warning_id"
        " WHERE w.status = 'published' AND w.code IS NOT NULL AND w.mode = 'Actual'"
        " AND r.contact_sealed IS NOT NULL AND r.status != 'withdrawn'"
        " AND NOT EXISTS (SELECT 1 FROM notices n"
        f" WHERE n.idempotency_key = '{PUBLISHED_KEY}' || r.id || '-' || w.id)"
        " ORDER BY r.id LIMIT ?",
        [limit],
    ).fetchall()
    return [(_report(row[:-1]), row[-1]) for row in rows]
