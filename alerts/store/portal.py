"""What the public portal reads: published warnings by region, by code, and for the feeds.

Only the head of each warning is listed: its newest published revision (``superseded_by``
is NULL), so an Update replaces the revision it updates instead of standing beside it.
Only live warnings (mode 'Actual') are listed: Exercise and Test warnings never reach the
public lists or feeds, as they never reach the live audience.

A warning *covers* a region when it targets the region or a region above it (its province,
the nation); it lies *below* a region when it targets a region inside it (a province's
communes; for the nation, every province and commune). Times are the stored UTC text,
which compares correctly as text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from alerts.store import warnings as warning_store
from alerts.warnings.models import Alert

_LIVE = "w.code IS NOT NULL AND w.published_at IS NOT NULL AND w.mode = 'Actual'"
_HEAD = f"{_LIVE} AND w.superseded_by IS NULL"
_ACTIVE = "w.status = 'published' AND w.expires_at > :now"
# When a warning stopped: its cancellation, else its expiry.
_ENDED = "CASE WHEN w.status = 'cancelled' THEN w.cancelled_at ELSE w.expires_at END"
_PAST = (
    "(w.status IN ('cancelled', 'expired') OR (w.status = 'published' AND w.expires_at <= :now))"
    f" AND {_ENDED} >= :since"
)
# A cancelled warning keeps its Cancel entry in the feeds until the warning would have
# expired, so aggregators that saw the Alert also see the Cancel.
_IN_FEED = "w.status IN ('published', 'cancelled') AND w.expires_at > :now"
_BELOW = (
    "w.id IN (SELECT t.warning_id FROM warning_regions t JOIN regions r ON r.code = t.region_code"
    " WHERE r.parent_code IN (SELECT :below UNION SELECT code FROM regions"
    " WHERE parent_code = :below))"
)


def _covering(codes: Sequence[str], params: dict) -> str:
    """Return the condition "targets one of ``codes``", adding its parameters."""
    names = []
    for index, code in enumerate(codes):
        params[f"c{index}"] = code
        names.append(f":c{index}")
    if not names:
        return "0"
    return (
        "w.id IN (SELECT t.warning_id FROM warning_regions t"
        f" WHERE t.region_code IN ({', '.join(names)}))"
    )


def _heads(db: sqlite_utils.Database, where: Sequence[str], params: dict, limit: int):
    """Return the heads matching every condition, newest publication first."""
    sql = (
        f"SELECT w.id FROM warnings w WHERE {_HEAD} AND {' AND '.join(where)}"
        " ORDER BY +w.published_at DESC, w.id DESC LIMIT :limit"
    )
    ids = [row[0] for row in db.execute(sql, {**params, "limit": limit}).fetchall()]
    return [warning_store.get_alert(db, alert_id) for alert_id in ids]


def active_anywhere(db: sqlite_utils.Database, now: str, limit: int) -> list[Alert]:
    """Return the live warnings in force anywhere in the country, newest first."""
    return _heads(db, [_ACTIVE], {"now": now}, limit)


def active_covering(
    db: sqlite_utils.Database, codes: Sequence[str], now: str, limit: int
) -> list[Alert]:
    """Return the live warnings in force that target one of ``codes``, newest first."""
    params: dict = {"now": now}
    return _heads(db, [_ACTIVE, _covering(codes, params)], params, limit)


def active_below(
    db: sqlite_utils.Database, code: str, covering: Sequence[str], now: str, limit: int
) -> list[Alert]:
    """Return the live warnings in force inside region ``code`` that do not already target
    one of ``covering`` (the region and the regions above it), newest first."""
    params: dict = {"now": now, "below": code}
    where = [_ACTIVE, _BELOW, f"NOT {_covering(covering, params)}"]
    return _heads(db, where, params, limit)


def past_covering(
    db: sqlite_utils.Database, codes: Sequence[str], now: str, since: str, limit: int
) -> list[Alert]:
    """Return the live warnings targeting one of ``codes`` that were cancelled or expired
    since ``since``, newest publication first."""
    params: dict = {"now": now, "since": since}
    return _heads(db, [_PAST, _covering(codes, params)], params, limit)


def _scope(codes: Sequence[str], below: str, params: dict) -> str:
    """Return the condition "targets one of ``codes`` or a region below ``below``": for the
    nation, every warning (each targets at least one region, and every region is the
    nation or below it), without a lookup per warning."""
    if below == "vn":
        return "1"
    params["below"] = below
    return f"({_covering(codes, params)} OR {_BELOW})"


def in_feed(
    db: sqlite_utils.Database, codes: Sequence[str], below: str, now: str, limit: int
) -> list[Alert]:
    """Return the warnings a region's feed lists: in force or cancelled but not yet past
    their expiry, targeting one of ``codes`` or a region below ``below``; newest first."""
    params: dict = {"now": now}
    return _heads(db, [_IN_FEED, _scope(codes, below, params)], params, limit)


_REPLACED = "JOIN warnings n ON n.id = w.superseded_by"


def last_change(db: sqlite_utils.Database, codes: Sequence[str], below: str, now: str) -> str:
    """Return when a region's feed last changed, as stored UTC text ("" if never): a
    publication, a cancellation, an expiry that dropped an entry, or an Update that
    replaced one (whatever regions the Update targets).

    The newest of each kind of change is looked up on its own index (m021), newest first
    until one lies in scope, rather than every live warning of two years being read."""
    params: dict = {"now": now}
    scope = _scope(codes, below, params)
    newest = (
        f"COALESCE((SELECT {{column}} FROM warnings w {{join}} WHERE {_LIVE} AND {scope}"
        " {extra} ORDER BY {column} DESC LIMIT 1), '')"
    )
    kinds = (
        ("w.published_at", "", ""),
        ("w.cancelled_at", "", "AND w.cancelled_at IS NOT NULL"),
        ("w.expires_at", "", "AND w.expires_at <= :now"),
        ("n.published_at", _REPLACED, "AND w.superseded_by IS NOT NULL"),
    )
    parts = [newest.format(column=c, join=j, extra=e) for c, j, e in kinds]
    return db.execute(f"SELECT MAX({', '.join(parts)})", params).fetchone()[0] or ""


def by_code(db: sqlite_utils.Database, code: str) -> Alert | None:
    """Return the published revision with this verification code (drills included)."""
    row = db.execute(
        "SELECT id FROM warnings WHERE code = ? AND published_at IS NOT NULL", [code]
    ).fetchone()
    return warning_store.get_alert(db, row[0]) if row else None
