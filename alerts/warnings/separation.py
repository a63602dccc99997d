"""Separation of duties: nobody reviews a warning they could have written through
someone else's account.

An admin who resets an officer's password (or second factor, or roles), or who created the
officer's account, knows or controls how that account signs in. Within ``WINDOW`` of such
a change, the admin is treated as a possible author of what the account wrote, and the
account as possibly theirs: the Hawaii 2018 review found one person could issue and
confirm an alert alone (docs/reliability.md#separation-of-duties).
"""

from __future__ import annotations

from datetime import timedelta

import sqlite_utils

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.errors import N_
from alerts.errors import Forbidden
from alerts.store import account_changes
from alerts.store import warnings as warning_store
from alerts.store.account_changes import AccountChange
from alerts.warnings.models import Alert

WINDOW = timedelta(days=30)


class TakeoverRisk(Forbidden):
    """A refusal that is also a security event: the audit log records it as one."""


def writers(db: sqlite_utils.Database, alert: Alert) -> set[int]:
    """Return everyone who wrote the revision's content: its author and every editor."""
    return {alert.created_by, *warning_store.editors(db, alert.id)}


def recent_changes(db: sqlite_utils.Database, user_ids: set[int]) -> list[AccountChange]:
    """Return the credential and role changes made to these accounts within the window."""
    return account_changes.since(db, user_ids, to_text(utcnow() - WINDOW))


def takeover_risk(db: sqlite_utils.Database, reviewer_id: int, alert: Alert) -> TakeoverRisk | None:
    """Return why the reviewer may have written this revision through another account."""
    authors = writers(db, alert)
    changes = recent_changes(db, authors | {reviewer_id})
    if any(c.user_id in authors and c.by_user_id == reviewer_id for c in changes):
        return TakeoverRisk(
            N_(
                "You created, or changed the password, second factor or roles of, an account"
                " that wrote this warning in the last 30 days: another approver must review it."
            )
        )
    if any(c.user_id == reviewer_id and c.by_user_id in authors for c in changes):
        return TakeoverRisk(
            N_(
                "Someone who wrote this warning changed your account in the last 30 days:"
                " another approver must review it."
            )
        )
    return None
