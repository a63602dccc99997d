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

from alerts import channels
from alerts.clock import now_text
from alerts.store import accounts as account_store
from alerts.store import deliveries as delivery_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store.accounts import StoredAccount
from alerts.warnings.models import Alert

BROADCAST_CHANNELS = channels.BROADCAST
RESIDENT_CHANNELS = channels.RESIDENT_NAMES
PRIORITY = {"Alert": 10, "Update": 10, "Cancel": 100}


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
        delivery_store.queue_broadcast(
            db,
            alert.id,
            msg_type,
            channel,
            account.id,
            province,
            PRIORITY[msg_type],
            now,
            alert.content.expires_at,
        )
    return len(chosen)


def _residents(db, alert: Alert, msg_type: str, channel: str, account, now: str) -> int:
    """Queue one delivery per subscribed address of the targeted regions."""
    return delivery_store.queue_residents(
        db,
        alert.id,
        msg_type,
        channel,
        account.id,
        PRIORITY[msg_type],
        now,
        alert.content.expires_at,
        list(alert.content.regions),
        test_audience=not alert.content.is_live,
    )


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
        delivery_store.cancel_superseded(db, alert.series_id, alert.id)
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
    return delivery_store.queue_cancel(db, alert.id, PRIORITY["Cancel"], now_text())
