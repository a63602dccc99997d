"""The dead letters of every warning in one's jurisdiction, by channel account, and replaying
all of one account's at once (after its provider came back): each delivery through
``progress.replay`` (same idempotency key, one audit entry each), then one entry saying who
replayed how many for which account."""

from __future__ import annotations

import sqlite_utils

from alerts import audit
from alerts.clock import now_text
from alerts.db import write
from alerts.delivery import progress
from alerts.errors import Forbidden
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Acting
from alerts.models import Role
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import dead_letters as store
from alerts.store import units as unit_store


def overview(db: sqlite_utils.Database, acting: Acting) -> list[dict]:
    """Return the dead letters of the actor's warnings (the ministry: all), by account."""
    _require_approver(acting)
    return store.by_account(db, unit_store.unit_ids_in_scope(db, acting.unit))


def _require_approver(acting: Acting) -> None:
    if not acting.user.has(Role.APPROVER):
        raise Forbidden("Only approvers may do this.")


def replay_account(db: sqlite_utils.Database, acting: Acting, account_id: int) -> int:
    """Queue again every dead delivery of one account still in force; return how many."""
    _require_approver(acting)
    account = account_store.get_account(db, account_id)
    if account is None:
        raise NotFound(account_id)
    scope = unit_store.unit_ids_in_scope(db, acting.unit)
    replayed = 0
    for delivery_id in store.ids_of_account(db, account_id, scope, now_text()):
        try:
            progress.replay(db, acting, delivery_id)
        except Refused:
            continue  # expired or replayed by someone else meanwhile: nothing to send
        replayed += 1
    with write(db):
        detail = {"account": account_id, "channel": account.channel, "replayed": replayed}
        entry = audit.make_entry(
            acting.actor, "delivery.replay_account", f"account:{account_id}", detail
        )
        audit_store.append(db, entry)
    return replayed
