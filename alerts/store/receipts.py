"""Providers' receipts on deliveries (m013): delivered, read, or failed after the send.

Every change runs inside the caller's ``write`` transaction.
"""

from __future__ import annotations

import json

import sqlite_utils

# A receipt only moves forward: a late "delivered" never hides a "read".
_RANK = "CASE {col} WHEN 'delivered' THEN 1 WHEN 'failed' THEN 2 WHEN 'read' THEN 3 ELSE 0 END"
_FORWARD = f"{_RANK.format(col='?')} > {_RANK.format(col='receipt')}"


def record(
    db: sqlite_utils.Database,
    account_id: int,
    state: str,
    at: str,
    detail: str,
    *,
    provider_id: str | None = None,
    delivery_id: int | None = None,
) -> int:
    """Record a receipt on the account's sent delivery named by the provider's message id
    (or by our own id, for a bounce that carries it); return how many rows it moved."""
    where, key = (
        ("provider_id = ?", provider_id) if delivery_id is None else ("id = ?", delivery_id)
    )
    entry = json.dumps({"at": at, "receipt": state, "detail": detail})
    return db.execute(
        "UPDATE deliveries SET receipt = ?, receipt_at = ?, receipt_detail = ?,"
        " history = json_insert(history, '$[#]', json(?))"
        f" WHERE account_id = ? AND {where} AND status = 'sent' AND {_FORWARD}",
        [state, at, detail[:300], entry, account_id, key, state],
    ).rowcount


def resident_of(db: sqlite_utils.Database, account_id: int, provider_id: str) -> str | None:
    """Return the resident's address the account's delivery with this provider message id
    went to (a bounce names the message, not the address), or None."""
    row = db.execute(
        "SELECT target FROM deliveries WHERE account_id = ? AND provider_id = ?"
        " AND subscription_id IS NOT NULL LIMIT 1",
        [account_id, provider_id],
    ).fetchone()
    return row[0] if row else None


def reported_failed(
    db: sqlite_utils.Database, warning_ids: list[int], limit: int = 200
) -> list[dict]:
    """Return the warnings' deliveries sent but reported failed by the provider, newest
    first, with the provider's reason."""
    cursor = db.execute(
        "SELECT id, warning_id, msg_type, channel, target, receipt_at, receipt_detail"
        " FROM deliveries WHERE warning_id IN (SELECT value FROM json_each(?))"
        " AND receipt = 'failed' ORDER BY receipt_at DESC LIMIT ?",
        [json.dumps(warning_ids), limit],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor]


def stop_queued(db: sqlite_utils.Database, subscription_ids: list[int], reason: str) -> int:
    """Cancel what is queued, not yet started, for these subscriptions (the resident
    blocked or unfollowed us: nothing more goes to them); return how many."""
    return db.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = ?, lease_expires_at = NULL"
        " WHERE subscription_id IN (SELECT value FROM json_each(?))"
        " AND (status = 'queued' OR (status = 'sending' AND started_at IS NULL))",
        [reason[:200], json.dumps(subscription_ids)],
    ).rowcount


def record_up_to(
    db: sqlite_utils.Database,
    account_id: int,
    target: str,
    up_to: str,
    state: str,
    at: str,
    detail: str,
) -> int:
    """Record a receipt on every sent delivery of the account to ``target`` sent at or
    before ``up_to`` (Messenger's watermark: everything earlier to that PSID was delivered
    or read); return how many rows it moved. ``provider_id IS NOT NULL`` lets SQLite reach
    the account's rows through ``deliveries_provider``: every sent message has one."""
    entry = json.dumps({"at": at, "receipt": state, "detail": detail})
    return db.execute(
        "UPDATE deliveries SET receipt = ?, receipt_at = ?, receipt_detail = ?,"
        " history = json_insert(history, '$[#]', json(?))"
        " WHERE account_id = ? AND provider_id IS NOT NULL AND target = ? AND status = 'sent'"
        f" AND sent_at <= ? AND {_FORWARD}",
        [state, at, detail[:300], entry, account_id, target, up_to, state],
    ).rowcount
