"""Each person's work: an officer's drafts, what came back to them and their recent warnings;
an approver's queue of what waits for them, oldest first, with how long it has waited.

The header counts are two indexed COUNT queries; the lists check each waiting revision with the
workflow's own rule, so the queue never offers what the approve button would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.clock import from_text
from alerts.models import Acting
from alerts.models import Level
from alerts.models import Role
from alerts.models import Unit
from alerts.store import units as unit_store
from alerts.store import warning_lists as store
from alerts.warnings import workflow
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

LIST_SIZE = 20
RECENT = (Status.SUBMITTED, Status.APPROVED, Status.PUBLISHED, Status.CANCELLED, Status.EXPIRED)


@dataclass(frozen=True)
class Waiting:
    """A revision waiting for review, and how long since it was submitted."""

    alert: Alert
    waited: timedelta


@dataclass(frozen=True)
class Work:
    """What a person has to do now, by list."""

    drafts: list[Alert]
    returned: list[Alert]
    recent: list[Alert]
    waiting: list[Waiting]


@dataclass(frozen=True)
class Counts:
    """The header's numbers: the officer's open drafts and returns, the approver's queue."""

    mine: int
    waiting: int


def approving_scope(db: sqlite_utils.Database, unit: Unit) -> list[int] | None:
    """Return the ids of the units whose warnings this unit's approvers review (None: all).

    The ministry reviews everything, a province its own and its communes', a commune nothing
    (``workflow.approving_units_rule``).
    """
    if unit.level == Level.NATION:
        return None
    if unit.level == Level.PROVINCE:
        return unit_store.unit_ids_in_scope(db, unit)
    return []


def counts(db: sqlite_utils.Database, acting: Acting) -> Counts:
    """Return the header counts for the signed-in person (zero for roles they lack)."""
    user = acting.user
    mine = 0
    if user.has(Role.OFFICER):
        mine = store.count_authored(db, user.id, (Status.DRAFT, Status.REJECTED))
    waiting = 0
    if user.has(Role.APPROVER):
        waiting = store.count_awaiting(db, approving_scope(db, acting.unit), user.id)
    return Counts(mine, waiting)


def waiting_for(db: sqlite_utils.Database, acting: Acting, now: datetime) -> list[Waiting]:
    """Return what this approver may review now, oldest submission first."""
    if not acting.user.has(Role.APPROVER):
        return []
    scope = approving_scope(db, acting.unit)
    found = store.awaiting(db, scope, acting.user.id, limit=LIST_SIZE)
    return [
        Waiting(a, now - from_text(a.submitted_at or a.updated_at))
        for a in found
        if "approve" in workflow.allowed_actions(db, acting, a)
    ]


def work_of(db: sqlite_utils.Database, acting: Acting, now: datetime) -> Work:
    """Return the person's lists (empty for the roles they lack)."""
    user = acting.user
    officer = user.has(Role.OFFICER)

    def authored(*statuses: Status) -> list[Alert]:
        return store.authored(db, user.id, statuses, limit=LIST_SIZE) if officer else []

    return Work(
        drafts=authored(Status.DRAFT),
        returned=authored(Status.REJECTED),
        recent=authored(*RECENT),
        waiting=waiting_for(db, acting, now),
    )
