"""The outbox of notices: messages to residents that are not warnings (confirmation codes
and links, "manage your subscriptions" links), claimed and recorded like deliveries.

A notice's subject and text hold a code or a link, and its target a full address: once it
is sent or given up they are erased and the target cut to its last three characters.
Every change of state runs inside the caller's ``write`` transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

_COLUMNS = (
    "n.id, n.kind, n.channel, n.account_id, n.target, n.subject, n.text, n.html,"
    " n.idempotency_key, n.attempts, n.expires_at"
)
_ERASE = "subject = '', text = '', html = '', target = '***' || substr(target, -3)"


@dataclass(frozen=True)
class Notice:
    """A notice as the dispatcher sends it."""

    id: int
    kind: str
    channel: str
    account_id: int
    target: str
    subject: str
    text: str
    html: str
    idempotency_key: str
    attempts: int
    expires_at: str


def insert(
    db: sqlite_utils.Database,
    *,
    kind: str,
    channel: str,
    account_id: int,
    target: str,
    subject: str,
    text: str,
    html: str,
    idempotency_key: str,
    now: str,
    expires_at: str,
) -> int:
    """Queue a notice to go out now; return its id."""
    cursor = db.execute(
        "INSERT INTO notices (kind, channel, account_id, target, subject, text, html,"
        " idempotency_key, status, next_attempt_at, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
        [kind, channel, account_id, target, subject, text, html, idempotency_key, now]
        + [expires_at, now],
    )
    return cursor.lastrowid


def recover_expired_leases(
    db: sqlite_utils.Database, now: str, *, all_in_flight=False, held: Iterable[int] = ()
) -> int:
    """Return to the queue the notices a worker claimed and lost (lease expired, or all in
    flight: see deliveries.recover_expired_leases), not those the calling worker still
    ``held`` in memory."""
    cursor = db.execute(
        "UPDATE notices SET status = 'queued', lease_expires_at = NULL, next_attempt_at = ?"
        " WHERE status = 'sending' AND (lease_expires_at <= ? OR ?)"
        " AND id NOT IN (SELECT value FROM json_each(?))",
        [now, now, int(all_in_flight), json.dumps(list(held))],
    )
    return cursor.rowcount


def expire_queued(db: sqlite_utils.Database, now: str) -> int:
    """Give up the notices that could not go out before they expired."""
    cursor = db.execute(
        f"UPDATE notices SET status = 'dead', last_error = 'expired before delivery', {_ERASE}"
        " WHERE status = 'queued' AND expires_at <= ?",
        [now],
    )
    return cursor.rowcount


def due(db: sqlite_utils.Database, now: str, limit: int) -> list[Notice]:
    """Return queued notices due now on usable accounts (active, breaker closed), oldest
    first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM notices n JOIN channel_accounts a ON a.id = n.account_id"
        " WHERE n.status = 'queued' AND n.next_attempt_at <= ? AND a.active = 1"
        " AND (a.breaker_open_until IS NULL OR a.breaker_open_until <= ?)"
        " ORDER BY n.next_attempt_at, n.id LIMIT ?",
        [now, now, limit],
    ).fetchall()
    return [Notice(*r) for r in rows]


def mark_sent(db: sqlite_utils.Database, notice_id: int, now: str) -> None:
    db.execute(
        f"UPDATE notices SET status = 'sent', sent_at = ?, lease_expires_at = NULL,"
        f" last_error = NULL, {_ERASE} WHERE id = ?",
        [now, notice_id],
    )


def mark_retry(db: sqlite_utils.Database, notice_id: int, next_at: str, error: str) -> None:
    db.execute(
        "UPDATE notices SET status = 'queued', next_attempt_at = ?, last_error = ?,"
        " lease_expires_at = NULL WHERE id = ?",
        [next_at, error[:300], notice_id],
    )


def mark_dead(db: sqlite_utils.Database, notice_id: int, error: str) -> None:
    db.execute(
        f"UPDATE notices SET status = 'dead', last_error = ?, lease_expires_at = NULL, {_ERASE}"
        " WHERE id = ?",
        [error[:300], notice_id],
    )
