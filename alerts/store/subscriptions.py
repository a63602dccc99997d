"""Residents' subscriptions as the opt-in flow sees them: pending rows with a hashed
confirmation, the hashed unsubscribe/manage token, and the end of a subscription.

Codes and tokens never reach this module, only their digests. Every change of state runs
inside the caller's ``write`` transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from alerts.clock import now_text

_COLUMNS = (
    "s.id, s.channel, s.address, s.region_code, r.name, s.status, s.created_at,"
    " s.confirmed_at, s.ended_at"
)
_FROM = "FROM subscriptions s JOIN regions r ON r.code = s.region_code"


@dataclass(frozen=True)
class Subscription:
    """One subscription of one address to one region (with the region's name)."""

    id: int
    channel: str
    address: str
    region_code: str
    region_name: str
    status: str
    created_at: str
    confirmed_at: str | None
    ended_at: str | None


def _rows(db: sqlite_utils.Database, where: str, params: list) -> list[Subscription]:
    rows = db.execute(f"SELECT {_COLUMNS} {_FROM} WHERE {where} ORDER BY s.id", params)
    return [Subscription(*r) for r in rows.fetchall()]


def of_address(db: sqlite_utils.Database, channel: str, address: str) -> list[Subscription]:
    """Return every subscription of an address on a channel, oldest first."""
    return _rows(db, "s.channel = ? AND s.address = ?", [channel, address])


def by_token(db: sqlite_utils.Database, token_hash: str) -> Subscription | None:
    """Return the subscription whose unsubscribe/manage token has this digest, or None."""
    found = _rows(db, "s.token_hash = ?", [token_hash])
    return found[0] if found else None


def request_pending(
    db: sqlite_utils.Database,
    *,
    channel: str,
    address: str,
    region_code: str,
    confirm_hash: str,
    expires_at: str,
    now: str,
) -> int:
    """Insert or renew the subscription awaiting confirmation; return its id.

    An active subscription stays active (the new code confirms it again, harmlessly); an
    ended or disabled one becomes pending: nothing is sent to it until it is confirmed.
    """
    row = db.execute(
        "INSERT INTO subscriptions (channel, address, region_code, status, created_at,"
        " confirm_hash, confirm_expires_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)"
        " ON CONFLICT (channel, address, region_code) DO UPDATE SET"
        " status = CASE status WHEN 'active' THEN 'active' ELSE 'pending' END,"
        " confirm_hash = excluded.confirm_hash,"
        " confirm_expires_at = excluded.confirm_expires_at RETURNING id",
        [channel, address, region_code, now, confirm_hash, expires_at],
    ).fetchone()
    return row[0]


def set_token_hashes(db: sqlite_utils.Database, pairs: list[tuple[int, str]]) -> None:
    """Store the digest of each subscription's unsubscribe/manage token, (id, digest)."""
    db.execute(
        "UPDATE subscriptions SET token_hash = p.value ->> 1 FROM json_each(?) AS p"
        " WHERE subscriptions.id = p.value ->> 0"
        " AND (token_hash IS NULL OR token_hash != p.value ->> 1)",
        [json.dumps(pairs)],
    )


def awaiting(
    db: sqlite_utils.Database, confirm_hash: str, now: str, *, channel=None, address=None
) -> list[Subscription]:
    """Return the subscriptions a confirmation digest still confirms (not yet expired);
    a code also needs its channel and address (six digits identify nothing alone)."""
    where = "s.confirm_hash = ? AND s.confirm_expires_at > ?"
    params: list = [confirm_hash, now]
    if channel is not None:
        where += " AND s.channel = ? AND s.address = ?"
        params += [channel, address]
    return _rows(db, where, params)


def activate(db: sqlite_utils.Database, ids: list[int], now: str) -> None:
    """Make confirmed subscriptions active (an already active one keeps its date)."""
    db.conn.executemany(
        "UPDATE subscriptions SET confirmed_at = CASE status WHEN 'active' THEN confirmed_at"
        " ELSE ? END, status = 'active', ended_at = NULL, paused_reason = NULL,"
        " confirm_hash = NULL, confirm_expires_at = NULL WHERE id = ?",
        [(now, i) for i in ids],
    )


def forget_confirmations(db: sqlite_utils.Database, channel: str, address: str) -> None:
    """Make the pending codes of an address useless (after too many wrong ones)."""
    db.execute(
        "UPDATE subscriptions SET confirm_hash = NULL WHERE channel = ? AND address = ?",
        [channel, address],
    )


def end(
    db: sqlite_utils.Database, channel: str, address: str, now: str, ids: list[int] | None = None
) -> int:
    """End an address's active and pending subscriptions (only ``ids`` when given); return
    how many ended."""
    where, params = "channel = ? AND address = ?", [channel, address]
    if ids is not None:
        where += f" AND id IN ({', '.join('?' * len(ids)) or 'NULL'})"
        params += ids
    cursor = db.execute(
        "UPDATE subscriptions SET status = 'unsubscribed', ended_at = ?, confirm_hash = NULL,"
        f" confirm_expires_at = NULL WHERE {where} AND status IN ('active', 'pending')",
        [now, *params],
    )
    return cursor.rowcount


def pause(
    db: sqlite_utils.Database, channel: str, address: str, reason: str, now: str
) -> list[int]:
    """Pause an address's active and pending subscriptions on one channel because the
    platform said it cannot be reached (``paused_reason``); return their ids."""
    rows = db.execute(
        "UPDATE subscriptions SET status = 'disabled', ended_at = ?, paused_reason = ?,"
        " confirm_hash = NULL, confirm_expires_at = NULL"
        " WHERE channel = ? AND address = ? AND status IN ('active', 'pending') RETURNING id",
        [now, reason, channel, address],
    ).fetchall()
    return [r[0] for r in rows]


def expire_pending(db: sqlite_utils.Database, now: str) -> int:
    """Drop the requests nobody confirmed in time; return how many.

    A request that never received anything is deleted (nothing of it is kept); one that
    did (an earlier subscription, re-requested) goes back to "unsubscribed". A stale
    confirmation on an active subscription is simply forgotten.
    """
    deleted = db.execute(
        "DELETE FROM subscriptions WHERE status = 'pending' AND confirm_expires_at <= ?"
        " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.subscription_id = subscriptions.id)",
        [now],
    ).rowcount
    ended = db.execute(
        "UPDATE subscriptions SET status = 'unsubscribed', ended_at = ?, confirm_hash = NULL,"
        " confirm_expires_at = NULL WHERE status = 'pending' AND confirm_expires_at <= ?",
        [now, now],
    ).rowcount
    db.execute(
        "UPDATE subscriptions SET confirm_hash = NULL, confirm_expires_at = NULL"
        " WHERE status != 'pending' AND confirm_expires_at <= ?",
        [now],
    )
    return deleted + ended


def account_ids(db: sqlite_utils.Database, channel: str) -> list[int]:
    """Return the ids of the active live accounts on a channel (for inbound hooks)."""
    rows = db.execute(
        "SELECT id FROM channel_accounts WHERE channel = ? AND active = 1 AND test_audience = 0"
        " ORDER BY id",
        [channel],
    )
    return [r[0] for r in rows.fetchall()]


def drop_counters(db: sqlite_utils.Database, prefix: str, started_before: str) -> None:
    """Forget the rate-limit counters under a prefix whose window began before a time."""
    db.execute(
        "DELETE FROM signin_throttle WHERE substr(key, 1, ?) = ? AND window_started_at < ?",
        [len(prefix), prefix, started_before],
    )


def add_subscription(
    db: sqlite_utils.Database,
    *,
    channel: str,
    address: str,
    region_code: str,
    status: str = "active",
    test_audience: bool = False,
) -> int:
    """Insert a subscription directly (demo and tests; residents go through the opt-in);
    an existing (channel, address, region) is left as it is. Returns the row id."""
    now = now_text()
    db.execute(
        "INSERT OR IGNORE INTO subscriptions (channel, address, region_code, status, test_audience,"
        " created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            channel,
            address,
            region_code,
            status,
            int(test_audience),
            now,
            now if status == "active" else None,
        ],
    )
    row = db.execute(
        "SELECT id FROM subscriptions WHERE channel = ? AND address = ? AND region_code = ?",
        [channel, address, region_code],
    ).fetchone()
    return row[0]


def disable_subscription(db: sqlite_utils.Database, subscription_id: int, reason: str) -> None:
    """Stop sending to a recipient the provider says cannot be reached."""
    db.execute(
        "UPDATE subscriptions SET status = 'disabled', ended_at = ? WHERE id = ?"
        " AND status = 'active'",
        [now_text(), subscription_id],
    )


def states(db: sqlite_utils.Database, channel: str, address: str) -> list[tuple]:
    """Return (region code, region name, status, paused reason) of each subscription of
    an address on a channel, oldest first (the demo's phones show why one was paused)."""
    return db.execute(
        "SELECT s.region_code, r.name, s.status, s.paused_reason"
        f" {_FROM} WHERE s.channel = ? AND s.address = ? ORDER BY s.id",
        [channel, address],
    ).fetchall()


def first_addresses(db: sqlite_utils.Database, limit: int = 50) -> list[tuple]:
    """Return (id, channel, address, region_code, test_audience) of the first subscriptions,
    live ones first (the demo's resident phones)."""
    return db.execute(
        "SELECT id, channel, address, region_code, test_audience FROM subscriptions"
        " ORDER BY test_audience, id LIMIT ?",
        [limit],
    ).fetchall()
