"""The outbox: claiming due deliveries and recording each attempt. Every change of state
runs inside the caller's ``write`` transaction; the counts the dashboard shows follow by
the deliveries' triggers (alerts.store.delivery_counts)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

import sqlite_utils

# A claimed delivery's columns (Delivery's fields, in order), then its priority to sort by.
_FIELDS = (
    "id, warning_id, msg_type, channel, account_id, target, subscription_id, idempotency_key,"
    " attempts, expires_at, possible_duplicate, priority"
)
_DUE = (
    f"SELECT json_group_array(json_array({_FIELDS})) FROM"
    f" (SELECT {_FIELDS} FROM deliveries"
    " WHERE status = 'queued' AND account_id = ? AND next_attempt_at <= ? AND priority >= ?"
    " ORDER BY priority DESC, next_attempt_at, id LIMIT ?)"
)


class Delivery(NamedTuple):
    """A claimed delivery: what the dispatcher needs to send one attempt. A named tuple,
    not a frozen dataclass: a claim builds hundreds on the store thread, where a frozen
    dataclass's slower construction held the GIL the sending loop was waiting for."""

    id: int
    warning_id: int
    msg_type: str
    channel: str
    account_id: int
    target: str
    subscription_id: int | None
    idempotency_key: str
    attempts: int
    expires_at: str
    possible_duplicate: bool


def recover_expired_leases(
    db: sqlite_utils.Database, now: str, *, all_in_flight=False, held: Iterable[int] = ()
) -> int:
    """Return to the queue deliveries a worker claimed and lost (lease expired, or every
    one in flight when a new worker starts: only one worker runs at a time), but never
    those the calling worker still ``held`` in memory. One whose attempt had started may
    have arrived: it is marked a possible duplicate and resent with the same idempotency
    key. One that never started goes back as it was: nothing of it left."""
    cursor = db.execute(
        "UPDATE deliveries SET status = 'queued', lease_expires_at = NULL, next_attempt_at = ?,"
        " possible_duplicate = MAX(possible_duplicate, started_at IS NOT NULL),"
        " history = CASE WHEN started_at IS NULL THEN history"
        " ELSE json_insert(history, '$[#]', json_object('at', ?, 'reaction', 'unknown',"
        " 'detail', 'the worker stopped during the attempt')) END, started_at = NULL"
        " WHERE status = 'sending' AND (lease_expires_at <= ? OR ?)"
        " AND id NOT IN (SELECT value FROM json_each(?))",
        [now, now, now, int(all_in_flight), json.dumps(list(held))],
    )
    return cursor.rowcount


def mark_started(db: sqlite_utils.Database, ids: list[int], now: str) -> list[int]:
    """Record that these claimed deliveries' attempts start now (each one then counts as
    an attempt) and return those still claimed: a delivery cancelled since its claim is
    not among them, and must not be sent."""
    rows = db.execute(  # "+status": by the ids, never a walk of every row being sent
        "UPDATE deliveries SET started_at = ?, attempts = attempts + 1"
        " WHERE id IN (SELECT value FROM json_each(?)) AND +status = 'sending' RETURNING id",
        [now, json.dumps(ids)],
    ).fetchall()
    return [r[0] for r in rows]


def not_claimed(db: sqlite_utils.Database, ids: list[int]) -> list[int]:
    """Return which of these claimed deliveries are no longer claimed (cancelled since)."""
    rows = db.execute(
        "SELECT id FROM deliveries WHERE id IN (SELECT value FROM json_each(?))"
        " AND status != 'sending'",
        [json.dumps(ids)],
    ).fetchall()
    return [r[0] for r in rows]


def expire_queued(db: sqlite_utils.Database, now: str) -> int:
    """Dead-letter deliveries whose warning expired before they could go out."""
    cursor = db.execute(  # unixepoch(): as deliveries_expiry holds it (migrations m012)
        "UPDATE deliveries SET status = 'dead', last_error = 'expired before delivery'"
        " WHERE status = 'queued' AND unixepoch(expires_at) <= unixepoch(?)",
        [now],
    )
    return cursor.rowcount


def due(
    db: sqlite_utils.Database, account_id: int, now: str, limit: int, min_priority: int = 0
) -> list[Delivery]:
    """Return one account's queued deliveries due now (of at least ``min_priority``), top
    priority first, then oldest: an index walk of that account's queue only.

    The rows come back as one JSON array, in one step of SQLite: each step gives up the
    GIL, and the worker's store thread would otherwise wait for the busy sending thread
    once per row (measured: a quarter of a second per batch of 500). An aggregate keeps
    no promised order, so the rows are sorted again here."""
    (rows,) = db.execute(_DUE, [account_id, now, min_priority, limit]).fetchone()
    rows = sorted(json.loads(rows), key=lambda r: (-r[11], r[0]))
    return [Delivery(*r[:10], bool(r[10])) for r in rows]


def _history(entry: dict) -> str:
    return json.dumps(entry, ensure_ascii=False)


def mark_sent_many(db, now: str, sent: list[tuple[int, str | None, dict]]) -> None:
    """Mark many deliveries sent, each with its provider id and history entry, in one
    statement (``sent``: (delivery id, provider id, entry))."""
    rows = json.dumps(
        [[i, provider_id, entry] for i, provider_id, entry in sent], ensure_ascii=False
    )
    db.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = ?, provider_id = s.value ->> 1,"
        " lease_expires_at = NULL, started_at = NULL, last_error = NULL,"
        " history = json_insert(history, '$[#]', json(s.value -> 2))"
        " FROM json_each(?) AS s WHERE deliveries.id = s.value ->> 0",
        [now, rows],
    )


def mark_retry(
    db, delivery_id: int, next_at: str, error: str, entry: dict, possible_duplicate: bool
) -> None:
    db.execute(
        "UPDATE deliveries SET status = 'queued', next_attempt_at = ?, last_error = ?,"
        " lease_expires_at = NULL, started_at = NULL,"
        " possible_duplicate = MAX(possible_duplicate, ?),"
        " history = json_insert(history, '$[#]', json(?)) WHERE id = ?",
        [next_at, error, int(possible_duplicate), _history(entry), delivery_id],
    )


def mark_dead(db, delivery_id: int, error: str, entry: dict) -> None:
    db.execute(
        "UPDATE deliveries SET status = 'dead', last_error = ?, lease_expires_at = NULL,"
        " started_at = NULL, history = json_insert(history, '$[#]', json(?)) WHERE id = ?",
        [error, _history(entry), delivery_id],
    )


def replay(db: sqlite_utils.Database, delivery_id: int, now: str) -> bool:
    """Queue a dead letter again with the same idempotency key; False if not dead or the
    warning has expired."""
    cursor = db.execute(
        "UPDATE deliveries SET status = 'queued', next_attempt_at = ?, attempts = 0,"
        " history = json_insert(history, '$[#]', json_object('at', ?, 'reaction', 'replay'))"
        " WHERE id = ? AND status = 'dead' AND expires_at > ?",
        [now, now, delivery_id, now],
    )
    return cursor.rowcount == 1


def get_delivery(db: sqlite_utils.Database, delivery_id: int) -> dict | None:
    """Return one delivery with its history, as a dict (for the dead-letter view)."""
    cursor = db.execute("SELECT * FROM deliveries WHERE id = ?", [delivery_id])
    row = cursor.fetchone()
    if row is None:
        return None
    found = dict(zip([d[0] for d in cursor.description], row, strict=True))
    found["history"] = json.loads(found["history"])
    return found


def dead_letters(db: sqlite_utils.Database, warning_ids: list[int], limit: int = 200) -> list[dict]:
    """Return dead deliveries of some warnings, newest first, with their last error."""
    marks = ", ".join("?" * len(warning_ids)) or "NULL"
    cursor = db.execute(
        "SELECT id, warning_id, msg_type, channel, target, attempts, last_error, history"
        f" FROM deliveries WHERE status = 'dead' AND warning_id IN ({marks})"
        " ORDER BY id DESC LIMIT ?",
        [*warning_ids, limit],
    )
    names = [d[0] for d in cursor.description]
    found = [dict(zip(names, r, strict=True)) for r in cursor]
    for item in found:
        item["history"] = json.loads(item["history"])
    return found


# --- filling the outbox (alerts/warnings/outbox.py decides who gets a copy) ---------------

# The idempotency key: warning, message type, channel, account and target.
_KEY = "'w' || ? || '-' || ? || '-' || ? || '-' || ? || '-' || {target}"


def queue_broadcast(
    db: sqlite_utils.Database,
    warning_id: int,
    msg_type: str,
    channel: str,
    account_id: int,
    province_code: str | None,
    priority: int,
    now: str,
    expires_at: str,
) -> None:
    """Queue one broadcast delivery (an account's own audience); a repeat is ignored."""
    db.execute(
        "INSERT OR IGNORE INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " province_code, idempotency_key, priority, status, next_attempt_at, expires_at,"
        f" created_at) VALUES (?, ?, ?, ?, 'broadcast', ?, {_KEY.format(target='?')},"
        " ?, 'queued', ?, ?, ?)",
        [
            warning_id,
            msg_type,
            channel,
            account_id,
            province_code,
            warning_id,
            msg_type,
            channel,
            account_id,
            "broadcast",
            priority,
            now,
            expires_at,
            now,
        ],
    )


def queue_residents(
    db: sqlite_utils.Database,
    warning_id: int,
    msg_type: str,
    channel: str,
    account_id: int,
    priority: int,
    now: str,
    expires_at: str,
    region_codes: list[str],
    test_audience: bool,
) -> int:
    """Queue one delivery per active subscription of the channel and audience whose own
    region is one of ``region_codes`` (exact codes: ``alerts.store.fanouts.reach`` finds
    them), in one statement; return how many were added. An address that already has its
    delivery (subscribed in two communes) is skipped by its unique key."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " subscription_id, province_code, idempotency_key, priority, status, next_attempt_at,"
        " expires_at, created_at)"
        " SELECT ?, ?, ?, ?, s.address, s.id,"
        " CASE r.level WHEN 'commune' THEN r.parent_code ELSE r.code END,"
        f" {_KEY.format(target='s.address')}, ?, 'queued', ?, ?, ?"
        " FROM subscriptions s JOIN regions r ON r.code = s.region_code"
        " WHERE s.region_code IN (SELECT value FROM json_each(?))"
        " AND s.channel = ? AND s.status = 'active' AND s.test_audience = ?",
        [
            warning_id,
            msg_type,
            channel,
            account_id,
            warning_id,
            msg_type,
            channel,
            account_id,
            priority,
            now,
            expires_at,
            now,
            json.dumps(region_codes),
            channel,
            int(test_audience),
        ],
    )
    return cursor.rowcount


# Queued, or claimed by the worker but not yet on the wire: a cancel stops these.
_NOT_STARTED = "(status = 'queued' OR (status = 'sending' AND started_at IS NULL))"


def cancel_superseded(db: sqlite_utils.Database, series_id: int, warning_id: int) -> None:
    """Cancel the deliveries of the series' other revisions that have not started (an
    Update replaces them): queued, or claimed by the worker and not yet on the wire."""
    db.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = 'superseded',"
        f" lease_expires_at = NULL WHERE {_NOT_STARTED} AND warning_id IN"
        " (SELECT id FROM warnings WHERE series_id = ? AND id != ?)",
        [series_id, warning_id],
    )


def queue_cancel(db: sqlite_utils.Database, warning_id: int, priority: int, now: str) -> int:
    """Stop the warning's deliveries that have not started (queued, or claimed and not yet
    on the wire: the worker's mark that an attempt starts then fails, so it is never
    made) and queue a Cancel to every target that received it, is being sent it, or
    whose outcome is unknown; return how many Cancels were queued.

    A possible duplicate not yet resent may have arrived, so it is cancelled only after
    its target got a Cancel of its own."""
    db.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = 'warning cancelled',"
        " lease_expires_at = NULL WHERE warning_id = ? AND msg_type != 'Cancel'"
        f" AND {_NOT_STARTED} AND possible_duplicate = 0",
        [warning_id],
    )
    cursor = db.execute(
        "INSERT OR IGNORE INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " subscription_id, province_code, idempotency_key, priority, status, next_attempt_at,"
        " expires_at, created_at)"
        " SELECT warning_id, 'Cancel', channel, account_id, target, subscription_id,"
        " province_code, 'w' || warning_id || '-Cancel-' || channel || '-' || account_id"
        " || '-' || target, ?, 'queued', ?, expires_at, ? FROM deliveries"
        " WHERE warning_id = ? AND msg_type != 'Cancel'"
        " AND (status = 'sent' OR (status = 'sending' AND started_at IS NOT NULL)"
        " OR possible_duplicate = 1)",
        [priority, now, now, warning_id],
    )
    db.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = 'warning cancelled',"
        " lease_expires_at = NULL WHERE warning_id = ? AND msg_type != 'Cancel'"
        f" AND {_NOT_STARTED}",
        [warning_id],
    )
    return cursor.rowcount


def history(db: sqlite_utils.Database, delivery_id: int) -> list[dict]:
    """Return a delivery's attempts so far (empty if there is no such delivery)."""
    row = db.execute("SELECT history FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
    return json.loads(row[0]) if row else []


def sent_to_subscription(db: sqlite_utils.Database, subscription_id: int) -> list[tuple]:
    """Return what a resident's subscription was sent, newest first (see ``_sent``)."""
    return _sent(db, "d.subscription_id = ?", [subscription_id])


def sent_broadcasts(db: sqlite_utils.Database) -> list[tuple]:
    """Return the broadcasts sent to the units' own audiences, newest first."""
    return _sent(db, "d.target = 'broadcast'", [])


def _sent(db: sqlite_utils.Database, where: str, params: list) -> list[tuple]:
    """Return up to 50 sent deliveries: (id, warning_id, msg_type, channel, target, sent_at,
    receipt), the receipt being the provider's delivered, read or failed (or None)."""
    return db.execute(
        "SELECT d.id, d.warning_id, d.msg_type, d.channel, d.target, d.sent_at, d.receipt"
        " FROM deliveries d"
        f" WHERE d.status = 'sent' AND {where} ORDER BY d.sent_at DESC, d.id DESC LIMIT 50",
        params,
    ).fetchall()
