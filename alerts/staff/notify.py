"""Telling the staff of their work, run by the worker every tick: approvers when a warning
waits for them and again once it has waited past ``STAFF_REMIND_AFTER_MINUTES``; authors when
theirs is approved, returned or published.

Events are read from the warnings' own columns (``alerts.store.staff_channels.untold``) and
each is recorded as told in the same transaction that queues its notices, so a worker that
stops half-way tells nobody twice. Only confirmed channels of active accounts are used, and
nobody is asked to review what they wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.models import Level
from alerts.security import vault
from alerts.staff.notify_channel import queue
from alerts.staff.notify_channel import staff_account
from alerts.staff.notify_texts import event_texts
from alerts.store import staff_channels as store
from alerts.store import units as unit_store
from alerts.store import warnings as warning_store

# Events older than this when the worker first sees them are not told (a worker that was
# down for a week, or the first start after an upgrade, does not flood anybody).
LOOKBACK = timedelta(days=1)
REMIND_LOOKBACK = timedelta(days=7)
TO_APPROVERS = ("submitted", "reminder")


def notify_due(db: sqlite_utils.Database, config: Mapping, now: datetime | None = None) -> int:
    """Queue the notices of every event not told yet; return how many events were told."""
    now = now or utcnow()
    remind = timedelta(minutes=config["STAFF_REMIND_AFTER_MINUTES"])
    events = store.untold(
        db,
        since=to_text(now - LOOKBACK),
        remind_before=to_text(now - remind),
        remind_since=to_text(now - REMIND_LOOKBACK),
    )
    for warning_id, event, stamp in events:
        with write(db):
            _tell(db, config, warning_id, event, stamp, now)
            store.mark_told(db, warning_id, event, stamp, to_text(now))
    return len(events)


def _reviewing_unit(db: sqlite_utils.Database, unit_id: int) -> int:
    """Return the unit whose approvers review this unit's warnings first: a commune's
    province, a province itself (a second person), the ministry itself."""
    unit = unit_store.get_unit(db, unit_id)
    if unit is not None and unit.level == Level.COMMUNE and unit.parent_id:
        return unit.parent_id
    return unit_id


def _recipients(db: sqlite_utils.Database, alert, event: str) -> list[int]:
    if event not in TO_APPROVERS:
        return [alert.created_by]
    writers = {alert.created_by, *warning_store.editors(db, alert.id)}
    approvers = store.approvers_of(db, _reviewing_unit(db, alert.unit_id))
    return [uid for uid in approvers if uid not in writers]


def _tell(db, config: Mapping, warning_id: int, event: str, stamp: str, now: datetime) -> None:
    alert = warning_store.get_alert(db, warning_id)
    unit = unit_store.get_unit(db, alert.unit_id) if alert else None
    if alert is None or unit is None:
        return
    words = {
        "headline": alert.content.headline,
        "unit": unit.name,
        "url": f"{config['PUBLIC_URL'].rstrip('/')}/admin/warnings/{alert.id}",
        "reason": alert.reject_reason or "",
        "minutes": config["STAFF_REMIND_AFTER_MINUTES"],
    }
    for found in store.verified(db, _recipients(db, alert, event)):
        account_id = staff_account(db, found["channel"], found["unit_id"])
        if account_id is None:
            continue
        try:
            address = vault.unseal(config, found["sealed"])["address"]
        except vault.VaultError:
            continue  # sealed under a key no longer configured: they must confirm it again
        texts = event_texts(found["channel"], event, **words)
        key = f"staff-{event}-{warning_id}-{stamp}-{found['user_id']}"
        queue(db, found["channel"], account_id, address, texts, key, now)
