"""Filling the outbox: one delivery row per (message, channel, account, target), written in
the transaction that publishes or cancels the warning, so a publication never exists
without its deliveries and a delivery never exists without a publication.

Targets are the issuing unit's broadcast accounts (Page, channel, OA, newsroom webhooks,
the nearest up the hierarchy when the unit has none) and the residents subscribed to the
targeted regions. Exercise and Test messages go only to test-audience accounts and
subscribers: they can never reach the live audience. A resident subscribed twice (commune
and province) gets one delivery: the idempotency key is per address, and unique.
"""

from __future__ import annotations

import sqlite_utils

from alerts.clock import now_text
from alerts.store import accounts as account_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store.accounts import StoredAccount
from alerts.warnings.models import Alert

BROADCAST_CHANNELS = ("zalo", "facebook", "telegram", "webhook")
RESIDENT_CHANNELS = ("zalo", "telegram", "sms", "email")
PRIORITY = {"Alert": 10, "Update": 10, "Cancel": 100}
_KEY = "'w' || ? || '-' || ? || '-' || ? || '-' || ? || '-' || {target}"


def _unit_chain(db: sqlite_utils.Database, unit_id: int) -> list[int]:
    """Return the issuing unit and the units above it, nearest first."""
    chain, unit = [], unit_store.get_unit(db, unit_id)
    while unit is not None:
        chain.append(unit.id)
        unit = unit_store.get_unit(db, unit.parent_id) if unit.parent_id else None
    return chain


def _accounts(db, alert: Alert) -> dict[str, list[StoredAccount]]:
    """Return the usable accounts by channel, nearest unit first, for this audience."""
    chain = _unit_chain(db, alert.unit_id)
    order = {unit_id: i for i, unit_id in enumerate(chain)}
    found: dict[str, list[StoredAccount]] = {}
    for account in sorted(
        account_store.accounts_of_units(db, chain), key=lambda a: order[a.unit_id]
    ):
        if account.active and account.test_audience != alert.content.is_live:
            found.setdefault(account.channel, []).append(account)
    return found


def _province(db, alert: Alert) -> str | None:
    unit = unit_store.get_unit(db, alert.unit_id)
    region = region_store.get_region(db, unit.region_code)
    if region.level.value == "commune":
        return region.parent_code
    return region.code if region.level.value == "province" else None


def _broadcast(db, alert: Alert, msg_type: str, channel: str, accounts, now: str) -> int:
    chosen = accounts if channel == "webhook" else accounts[:1]
    province = _province(db, alert)
    for account in chosen:
        if account.settings.get("broadcast", "1") == "0":
            continue
        db.execute(
            "INSERT OR IGNORE INTO deliveries (warning_id, msg_type, channel, account_id, target,"
            " province_code, idempotency_key, priority, status, next_attempt_at, expires_at,"
            f" created_at) VALUES (?, ?, ?, ?, 'broadcast', ?, {_KEY.format(target='?')},"
            " ?, 'queued', ?, ?, ?)",
            [
                alert.id,
                msg_type,
                channel,
                account.id,
                province,
                alert.id,
                msg_type,
                channel,
                account.id,
                "broadcast",
                PRIORITY[msg_type],
                now,
                alert.content.expires_at,
                now,
            ],
        )
    return len(chosen)


def _residents(db, alert: Alert, msg_type: str, channel: str, account, now: str) -> int:
    """Insert one delivery per subscribed address in one statement (a million in seconds)."""
    codes = list(alert.content.regions)
    marks = ", ".join("?" * len(codes))
    where = (
        "1"
        if "vn" in codes
        else (
            f"(s.region_code IN ({marks}) OR r.parent_code IN ({marks})"
            f" OR s.region_code IN (SELECT parent_code FROM regions WHERE code IN ({marks})))"
        )
    )
    params = [] if "vn" in codes else codes * 3
    cursor = db.execute(
        "INSERT OR IGNORE INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " subscription_id, province_code, idempotency_key, priority, status, next_attempt_at,"
        " expires_at, created_at)"
        " SELECT ?, ?, ?, ?, s.address, s.id,"
        " CASE r.level WHEN 'commune' THEN r.parent_code ELSE r.code END,"
        f" {_KEY.format(target='s.address')}, ?, 'queued', ?, ?, ?"
        " FROM subscriptions s JOIN regions r ON r.code = s.region_code"
        f" WHERE s.channel = ? AND s.status = 'active' AND s.test_audience = ? AND {where}",
        [
            alert.id,
            msg_type,
            channel,
            account.id,
            alert.id,
            msg_type,
            channel,
            account.id,
            PRIORITY[msg_type],
            now,
            alert.content.expires_at,
            now,
            channel,
            int(not alert.content.is_live),
            *params,
        ],
    )
    return cursor.rowcount


def _reaches_followers(alert: Alert, channel: str) -> bool:
    """Zalo broadcasts (an article to every follower) only for province-wide or national
    warnings; a commune's warning reaches its Zalo subscribers one by one."""
    if channel != "zalo":
        return True
    return any(len(code) != 5 for code in alert.content.regions)


def enqueue_publication(db: sqlite_utils.Database, alert: Alert, msg_type: str) -> int:
    """Queue every delivery of a published revision; return how many rows were added.

    An Update also cancels the earlier revisions' deliveries that have not gone out yet.
    The caller holds the publication's transaction.
    """
    now = now_text()
    if msg_type == "Update":
        db.execute(
            "UPDATE deliveries SET status = 'cancelled', last_error = 'superseded'"
            " WHERE status = 'queued' AND warning_id IN"
            " (SELECT id FROM warnings WHERE series_id = ? AND id != ?)",
            [alert.series_id, alert.id],
        )
    accounts, added = _accounts(db, alert), 0
    for channel in alert.content.channels:
        usable = accounts.get(channel, [])
        if not usable:
            continue
        if channel in BROADCAST_CHANNELS and _reaches_followers(alert, channel):
            added += _broadcast(db, alert, msg_type, channel, usable, now)
        if channel in RESIDENT_CHANNELS:
            added += _residents(db, alert, msg_type, channel, usable[0], now)
    return added


def enqueue_cancel(db: sqlite_utils.Database, alert: Alert) -> int:
    """Stop every delivery of the warning not yet sent, and queue the cancellation at top
    priority to every target that received it or whose outcome is unknown."""
    now = now_text()
    db.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = 'warning cancelled'"
        " WHERE warning_id = ? AND msg_type != 'Cancel' AND status = 'queued'"
        " AND possible_duplicate = 0",
        [alert.id],
    )
    cursor = db.execute(
        "INSERT OR IGNORE INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " subscription_id, province_code, idempotency_key, priority, status, next_attempt_at,"
        " expires_at, created_at)"
        " SELECT warning_id, 'Cancel', channel, account_id, target, subscription_id,"
        " province_code, 'w' || warning_id || '-Cancel-' || channel || '-' || account_id"
        " || '-' || target, ?, 'queued', ?, expires_at, ? FROM deliveries"
        " WHERE warning_id = ? AND msg_type != 'Cancel'"
        " AND (status IN ('sent', 'sending') OR possible_duplicate = 1)",
        [PRIORITY["Cancel"], now, now, alert.id],
    )
    db.execute(
        "UPDATE deliveries SET status = 'cancelled', last_error = 'warning cancelled'"
        " WHERE warning_id = ? AND msg_type != 'Cancel' AND status = 'queued'",
        [alert.id],
    )
    return cursor.rowcount
