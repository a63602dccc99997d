"""The inbox of inbound events (m013): stored by the web layer, applied by the worker.

Every change of state runs inside the caller's ``write`` transaction.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlite_utils


class Stored(NamedTuple):
    """An event waiting to be applied; ``sealed`` holds its sender and data."""

    id: int
    channel: str
    account_id: int
    event_key: str
    kind: str
    sealed: bytes | None
    received_at: str
    attempts: int


def insert(
    db: sqlite_utils.Database,
    channel: str,
    account_id: int,
    events: list[tuple[str, str, bytes]],
    received_at: str,
) -> int:
    """Store (key, kind, sealed) events; one already stored (a platform's re-delivery) is
    left as it is. Return how many were new."""
    added = 0
    for key, kind, sealed in events:
        added += db.execute(
            "INSERT OR IGNORE INTO inbound_events (channel, account_id, event_key, kind, sealed,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?)",
            [channel, account_id, key, kind, sealed, received_at],
        ).rowcount
    return added


def waiting(db: sqlite_utils.Database, limit: int) -> list[Stored]:
    """Return the oldest events not yet applied."""
    rows = db.execute(
        "SELECT id, channel, account_id, event_key, kind, sealed, received_at, attempts"
        " FROM inbound_events WHERE status = 'new' ORDER BY id LIMIT ?",
        [limit],
    ).fetchall()
    return [Stored(*r) for r in rows]


def finish(db: sqlite_utils.Database, event_id: int, status: str, outcome: str, now: str) -> None:
    """Record what applying an event did (``done``), or that it never can (``failed``)."""
    db.execute(
        "UPDATE inbound_events SET status = ?, outcome = ?, processed_at = ?,"
        " attempts = attempts + 1 WHERE id = ?",
        [status, outcome[:300], now, event_id],
    )


def retry_later(db: sqlite_utils.Database, event_id: int, outcome: str) -> None:
    """Count a failed attempt at applying an event, which stays waiting."""
    db.execute(
        "UPDATE inbound_events SET attempts = attempts + 1, outcome = ? WHERE id = ?",
        [outcome[:300], event_id],
    )


def forget(db: sqlite_utils.Database, applied_before: str, keys_before: str) -> tuple[int, int]:
    """Drop what residents sent in events applied before ``applied_before`` (their key
    stays, so a late re-delivery is still recognised), and whole events received before
    ``keys_before``. Return (events emptied, events deleted)."""
    emptied = db.execute(
        "UPDATE inbound_events SET sealed = NULL WHERE status != 'new' AND sealed IS NOT NULL"
        " AND processed_at < ?",
        [applied_before],
    ).rowcount
    deleted = db.execute(
        "DELETE FROM inbound_events WHERE status != 'new' AND received_at < ?", [keys_before]
    ).rowcount
    return emptied, deleted


def counts(db: sqlite_utils.Database, account_id: int) -> dict[str, int]:
    """Return how many of an account's events are new, done and failed."""
    rows = db.execute(
        "SELECT status, COUNT(*) FROM inbound_events WHERE account_id = ? GROUP BY status",
        [account_id],
    ).fetchall()
    return dict(rows)
