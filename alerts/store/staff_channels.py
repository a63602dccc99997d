"""Each staff member's own channel for work notices, and the events already told.

The address is sealed (``alerts.security.vault``) and kept beside its masked form; the code
that confirms it is stored as an HMAC only.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

_COLUMNS = (
    "user_id, channel, sealed, masked, code_hash, code_expires_at, attempts, codes_sent,"
    " codes_since, verified_at"
)


def _row(cursor, row) -> dict:
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def get(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """Return a user's staff channel (verified or not), or None."""
    cursor = db.execute(f"SELECT {_COLUMNS} FROM staff_channels WHERE user_id = ?", [user_id])
    row = cursor.fetchone()
    return _row(cursor, row) if row else None


def set_pending(
    db: sqlite_utils.Database,
    user_id: int,
    *,
    channel: str,
    sealed: bytes,
    masked: str,
    code_hash: str,
    expires_at: str,
    codes: tuple[int, str],
    now: str,
) -> None:
    """Replace a user's channel with a new, unconfirmed one waiting for its code;
    ``codes`` is how many codes were sent since when, this one included."""
    db.execute(
        "INSERT INTO staff_channels (user_id, channel, sealed, masked, code_hash,"
        " code_expires_at, attempts, codes_sent, codes_since, verified_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET channel = excluded.channel,"
        " sealed = excluded.sealed, masked = excluded.masked, code_hash = excluded.code_hash,"
        " code_expires_at = excluded.code_expires_at, attempts = 0,"
        " codes_sent = excluded.codes_sent, codes_since = excluded.codes_since,"
        " verified_at = NULL, updated_at = excluded.updated_at",
        [user_id, channel, sealed, masked, code_hash, expires_at, *codes, now],
    )


def count_attempt(db: sqlite_utils.Database, user_id: int) -> None:
    """Count one wrong code."""
    db.execute("UPDATE staff_channels SET attempts = attempts + 1 WHERE user_id = ?", [user_id])


def mark_verified(db: sqlite_utils.Database, user_id: int, now: str) -> None:
    """Confirm the channel: the code is spent."""
    db.execute(
        "UPDATE staff_channels SET verified_at = ?, code_hash = NULL, code_expires_at = NULL,"
        " updated_at = ? WHERE user_id = ?",
        [now, now, user_id],
    )


def remove(db: sqlite_utils.Database, user_id: int) -> None:
    """Forget a user's channel."""
    db.execute("DELETE FROM staff_channels WHERE user_id = ?", [user_id])


def verified(db: sqlite_utils.Database, user_ids: Iterable[int]) -> list[dict]:
    """Return the confirmed channels of these users who are still active, with the
    languages of their accounts."""
    ids = list(user_ids)
    marks = ", ".join("?" * len(ids)) or "NULL"
    cursor = db.execute(
        "SELECT c.user_id, c.channel, c.sealed, u.unit_id, u.language, u.ui_language"
        " FROM staff_channels c"
        " JOIN users u ON u.id = c.user_id"
        f" WHERE c.user_id IN ({marks}) AND c.verified_at IS NOT NULL AND u.active = 1",
        ids,
    )
    return [_row(cursor, row) for row in cursor]


def all_sealed(db: sqlite_utils.Database) -> list[tuple[int, bytes]]:
    """Return every channel's user id with its sealed address (to re-seal after rotation)."""
    return [tuple(r) for r in db.execute("SELECT user_id, sealed FROM staff_channels")]


def set_sealed(db: sqlite_utils.Database, user_id: int, sealed: bytes, now: str) -> None:
    """Replace a channel's sealed address (re-sealed under the first key)."""
    db.execute(
        "UPDATE staff_channels SET sealed = ?, updated_at = ? WHERE user_id = ?",
        [sealed, now, user_id],
    )


# --- events told --------------------------------------------------------------------------

# What each event is, read from the warnings table: the time that made it is its stamp, so a
# second submission of the same revision is told again, and a told event never twice. A
# revision replaced by an update is "superseded" when the update is published.
_EVENTS = """
SELECT id, 'submitted', submitted_at FROM warnings
 WHERE status = 'submitted' AND submitted_at >= :since
UNION ALL
SELECT id, 'reminder', submitted_at FROM warnings
 WHERE status = 'submitted' AND submitted_at < :remind_before AND submitted_at >= :remind_since
UNION ALL
SELECT id, 'approved', approved_at FROM warnings
 WHERE status = 'approved' AND approved_at >= :since
UNION ALL
SELECT id, 'rejected', submitted_at FROM warnings
 WHERE status = 'rejected' AND submitted_at >= :remind_since
UNION ALL
SELECT id, 'published', published_at FROM warnings
 WHERE published_at >= :since AND status IN ('published', 'cancelled', 'expired')
UNION ALL
SELECT id, 'cancelled', cancelled_at FROM warnings
 WHERE status = 'cancelled' AND cancelled_at >= :since
UNION ALL
SELECT w.id, 'superseded', n.published_at FROM warnings w JOIN warnings n ON n.id = w.superseded_by
 WHERE w.superseded_by IS NOT NULL AND n.published_at >= :since
"""


def untold(
    db: sqlite_utils.Database, *, since: str, remind_before: str, remind_since: str
) -> list[tuple[int, str, str]]:
    """Return the (warning id, event, stamp) not told yet, oldest warning first."""
    rows = db.execute(
        f"WITH e (warning_id, event, stamp) AS ({_EVENTS}) SELECT * FROM e"
        " WHERE NOT EXISTS (SELECT 1 FROM staff_notified n WHERE n.warning_id = e.warning_id"
        " AND n.event = e.event AND n.stamp = e.stamp) ORDER BY e.warning_id LIMIT 500",
        {"since": since, "remind_before": remind_before, "remind_since": remind_since},
    )
    return [tuple(r) for r in rows]


def mark_told(db: sqlite_utils.Database, warning_id: int, event: str, stamp: str, now: str) -> None:
    """Record that an event was told (or had nobody to tell)."""
    db.execute(
        "INSERT OR IGNORE INTO staff_notified (warning_id, event, stamp, at) VALUES (?, ?, ?, ?)",
        [warning_id, event, stamp, now],
    )
