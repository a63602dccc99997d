"""Telling the staff of their work, run by the worker every tick: the nearest approvers
of a warning when it waits for them, and everyone who may approve it (the ministry too)
once it has waited past ``STAFF_REMIND_AFTER_MINUTES``; its author when it is approved,
returned or published; its author and approver when it is cancelled or replaced by an
update, unless they did it.

Who may approve is the workflow's own rule (``workflow.reviewers``), so the notices never
name someone the approval would refuse, its writers least of all. Events are read from the
warnings' own columns (``alerts.store.staff_channels.untold``) and each is recorded as told
in the same transaction that queues its notices, so a worker that stops half-way tells
nobody twice. Only confirmed channels of active accounts are used, each in its owner's
language (``alerts.staff.languages``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.i18n import moment_in
from alerts.security import vault
from alerts.staff.languages import notice_language
from alerts.staff.notify_channel import queue
from alerts.staff.notify_channel import staff_account
from alerts.staff.notify_texts import event_texts
from alerts.store import staff_channels as store
from alerts.store import units as unit_store
from alerts.store import warnings as warning_store
from alerts.warnings import workflow
from alerts.warnings.models import Alert
from alerts.warnings.separation import writers

# Events older than this when the worker first sees them are not told (a worker that was
# down for a week, or the first start after an upgrade, does not flood anybody).
LOOKBACK = timedelta(days=1)
REMIND_LOOKBACK = timedelta(days=7)
TO_REVIEWERS = ("submitted", "reminder")
TO_SIGNERS = ("cancelled", "superseded")


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


def _signers(db: sqlite_utils.Database, alert: Alert, event: str) -> set[int]:
    """Return who wrote or approved a cancelled or replaced revision, less who did it: the
    canceller, or the update's writers and approver."""
    told = {alert.created_by, alert.approved_by} - {None}
    if event == "cancelled":
        return told - {alert.cancelled_by}
    update = warning_store.get_alert(db, alert.superseded_by)
    return told - writers(db, update) - {update.approved_by}


def _recipients(db: sqlite_utils.Database, alert: Alert, event: str) -> list[int]:
    if event in TO_REVIEWERS:  # the reminder goes up to the ministry too
        return workflow.reviewers(db, alert, first_line=event == "submitted")
    if event in TO_SIGNERS:
        return sorted(_signers(db, alert, event))
    return [alert.created_by]


def _when(alert: Alert, event: str, stamp: str) -> datetime:
    """Return the moment a notice names: the publication planned, or the event's own."""
    if event == "approved" and alert.content.publish_at:
        return from_text(alert.content.publish_at)
    return from_text(stamp)


def _tell(db, config: Mapping, warning_id: int, event: str, stamp: str, now: datetime) -> None:
    alert = warning_store.get_alert(db, warning_id)
    unit = unit_store.get_unit(db, alert.unit_id) if alert else None
    if alert is None or unit is None:
        return
    words = {
        "headline": alert.content.headline,
        "unit": unit.name,
        "reason": (alert.cancel_reason if event == "cancelled" else alert.reject_reason) or "",
        "minutes": config["STAFF_REMIND_AFTER_MINUTES"],
    }
    url = f"{config['PUBLIC_URL'].rstrip('/')}/admin/warnings/{alert.id}"
    zone = config.get("DISPLAY_TIMEZONE", "Asia/Ho_Chi_Minh")
    for found in store.verified(db, _recipients(db, alert, event)):
        account_id = staff_account(db, found["channel"], found["unit_id"])
        if account_id is None:
            continue
        try:
            address = vault.unseal(config, found["sealed"])["address"]
        except vault.VaultError:
            continue  # sealed under a key no longer configured: they must confirm it again
        lang = notice_language(found["language"], found["ui_language"], config)
        when = moment_in(_when(alert, event, stamp), lang, zone)
        texts = event_texts(found["channel"], event, lang, url, when=when, **words)
        key = f"staff-{event}-{warning_id}-{stamp}-{found['user_id']}"
        queue(db, found["channel"], account_id, address, texts, key, now)
