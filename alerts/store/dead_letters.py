"""Dead letters across warnings, by channel account: the ministry's view of what gave up.

Read through ``deliveries_due`` (status first); the account and warning tables only name them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils


def _units(unit_ids: Iterable[int] | None) -> tuple[str, list]:
    if unit_ids is None:
        return "1", []
    ids = list(unit_ids)
    return f"w.unit_id IN ({', '.join('?' * len(ids)) or 'NULL'})", ids


def by_account(db: sqlite_utils.Database, unit_ids: Iterable[int] | None) -> list[dict]:
    """Return, per channel account, how many deliveries of these units' warnings are dead,
    how many warnings they belong to, and the newest error; most dead first."""
    clause, params = _units(unit_ids)
    cursor = db.execute(
        "SELECT g.*, (SELECT last_error FROM deliveries WHERE id = g.newest) AS last_error"
        " FROM (SELECT d.account_id, a.channel, a.name, a.unit_id, COUNT(*) AS dead,"
        " COUNT(DISTINCT d.warning_id) AS warnings, MAX(d.id) AS newest"
        " FROM deliveries d JOIN warnings w ON w.id = d.warning_id"
        " JOIN channel_accounts a ON a.id = d.account_id"
        f" WHERE d.status = 'dead' AND {clause} GROUP BY d.account_id) g"
        " ORDER BY g.dead DESC, g.account_id",
        params,
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def ids_of_account(
    db: sqlite_utils.Database, account_id: int, unit_ids: Iterable[int] | None, now: str
) -> list[int]:
    """Return the dead deliveries of one account that may still be sent (not expired)."""
    clause, params = _units(unit_ids)
    rows = db.execute(
        "SELECT d.id FROM deliveries d JOIN warnings w ON w.id = d.warning_id"
        f" WHERE d.status = 'dead' AND d.account_id = ? AND d.expires_at > ? AND {clause}"
        " ORDER BY d.id",
        [account_id, now, *params],
    )
    return [r[0] for r in rows]
