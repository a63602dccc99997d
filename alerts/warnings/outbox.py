"""Filling the outbox: one delivery row per (message, channel, account, target), written in
the transaction that publishes or cancels the warning, so a publication never exists
without its deliveries and a delivery never exists without a publication. A warning to
more residents than ``FIRST_CHUNK`` queues them in chunks of whole regions: the first in
that transaction, with the record of the rest (``alerts.store.fanouts``), the others by
the worker's ``top_up`` every tick, each chunk in a transaction of its own; a million
rows in one write held SQLite's only lock for seconds (issue 13).

Targets are the issuing unit's broadcast accounts (Page, channel, OA, newsroom webhooks,
the nearest up the hierarchy when the unit has none) and the residents subscribed to the
targeted regions. Exercise and Test messages go only to test-audience accounts and
subscribers: they can never reach the live audience. A resident subscribed twice (commune
and province) gets one delivery: the idempotency key is per address, and unique.
"""

from __future__ import annotations

import sqlite_utils

from alerts import channels
from alerts.clock import from_text
from alerts.clock import now_text
from alerts.db import write
from alerts.store import accounts as account_store
from alerts.store import deliveries as delivery_store
from alerts.store import fanouts as fanout_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import warnings as warning_store
from alerts.store.accounts import StoredAccount
from alerts.store.fanouts import Fanout
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

BROADCAST_CHANNELS = channels.BROADCAST
RESIDENT_CHANNELS = channels.RESIDENT_NAMES
PRIORITY = {"Alert": 10, "Update": 10, "Cancel": 100}
# Residents' deliveries queued in the approval's transaction, then by the worker per tick:
# chunks of whole regions, so that no write holds SQLite's one lock for long (m016).
FIRST_CHUNK = 20_000
CHUNK = 50_000


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
    """Queue the first chunk of the residents' deliveries in the publication's transaction
    and leave the rest to ``top_up``; return how many subscriptions the warning reaches
    (exactly how many rows were added when no fan-out is left)."""
    test = not alert.content.is_live
    regions = fanout_store.reach(db, channel, test, list(alert.content.regions))
    fanout = Fanout(
        0,
        alert.id,
        msg_type,
        channel,
        account.id,
        PRIORITY[msg_type],
        test,
        alert.content.expires_at,
        regions,
    )
    added, left = _queue_chunk(db, fanout, FIRST_CHUNK, now)
    if not left:
        return added
    expected = sum(count for _code, count in regions)
    remaining = fanout._replace(regions_left=left)
    fanout_store.open_fanout(db, remaining, expected=expected, queued=added, now=now)
    return added + sum(count for _code, count in left)


def _queue_chunk(db, fanout: Fanout, size: int, now: str) -> tuple[int, list]:
    """Queue the next regions of a fan-out, whole regions up to ``size`` subscribers (at
    least one region); return how many rows were added and the regions left."""
    taken, total = 0, 0
    for _code, count in fanout.regions_left:
        if taken and total + count > size:
            break
        taken, total = taken + 1, total + count
    if not taken:
        return 0, []
    added = delivery_store.queue_residents(
        db,
        fanout.warning_id,
        fanout.msg_type,
        fanout.channel,
        fanout.account_id,
        fanout.priority,
        now,
        fanout.expires_at,
        [code for code, _count in fanout.regions_left[:taken]],
        fanout.test_audience,
    )
    return added, fanout.regions_left[taken:]


def top_up(
    db: sqlite_utils.Database, size: int | None = None, now: str | None = None, *, to_the_end=False
) -> int:
    """Queue the next chunk of every open fan-out, each in its own short transaction (the
    worker calls this every tick; ``flask dispatch-once`` queues everything, to the end);
    return how many rows were added. A fan-out whose warning is no longer in force
    (cancelled, superseded, expired) queues nothing more."""
    added, open_ids = 0, fanout_store.open_ids(db)
    while open_ids:
        for fanout_id in open_ids:
            with write(db):
                added += _top_up_one(db, fanout_id, size or CHUNK, now or now_text())
        open_ids = fanout_store.open_ids(db) if to_the_end else []
    return added


def _top_up_one(db, fanout_id: int, size: int, now: str) -> int:
    """Read the fan-out again inside the write: a cancel may have committed meanwhile."""
    fanout = fanout_store.get_open(db, fanout_id)
    if fanout is None:
        return 0
    alert = warning_store.get_alert(db, fanout.warning_id)
    if alert.status != Status.PUBLISHED or from_text(fanout.expires_at) <= from_text(now):
        fanout_store.stop(db, [fanout.warning_id], now)
        return 0
    added, left = _queue_chunk(db, fanout, size, now)
    fanout_store.advance(db, fanout.id, left, added, now)
    return added


def _reaches_followers(alert: Alert, channel: str) -> bool:
    """Zalo broadcasts (an article to every follower) only for province-wide or national
    warnings; a commune's warning reaches its Zalo subscribers one by one."""
    if channel != "zalo":
        return True
    return any(len(code) != 5 for code in alert.content.regions)


def enqueue_publication(db: sqlite_utils.Database, alert: Alert, msg_type: str) -> int:
    """Queue the deliveries of a published revision (the residents' first chunk); return
    how many it has (those queued now and those its fan-outs will queue).

    An Update also cancels the earlier revisions' deliveries that have not gone out yet.
    The caller holds the publication's transaction.
    """
    now = now_text()
    if msg_type == "Update":
        delivery_store.cancel_superseded(db, alert.series_id, alert.id)
        fanout_store.stop_superseded(db, alert.series_id, alert.id, now)
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
    fanout_store.stop(db, [alert.id], now)
    return delivery_store.queue_cancel(db, alert.id, PRIORITY["Cancel"], now)
