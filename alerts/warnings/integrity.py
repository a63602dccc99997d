"""What is approved is what is stored, signed and sent.

The publisher once compared two stored hash columns and never looked at the content, so
a revision edited in the database after approval went out with the edited text. Every
step that lets a warning move towards residents (approval, publication before signing,
the worker's rendering) recomputes the hash from the stored content here. A mismatch
refuses the step, marks the revision (its page and ``/healthz`` show it), and lands in
the audit log as a security event; nothing of that revision is sent.
"""

from __future__ import annotations

import sqlite_utils

from alerts import audit
from alerts.errors import N_
from alerts.errors import Conflict
from alerts.store import audit as audit_store
from alerts.store import warnings as warning_store
from alerts.warnings.content import content_hash
from alerts.warnings.models import Alert


def problem(db: sqlite_utils.Database, alert: Alert) -> str | None:
    """Return why the stored revision is not the content that was hashed and approved."""
    digest = content_hash(alert.content, alert.msg_type, alert.references_id)
    if digest != alert.content_hash:
        return "the stored content does not match its content hash"
    if alert.approved_hash is not None and alert.approved_hash != digest:
        return "the stored content is not the approved content"
    if warning_store.stored_targets(db, alert.id) != warning_store.content_targets(alert.content):
        return "the stored regions or indicators differ from the content"
    return None


def mark_failure(
    db: sqlite_utils.Database, alert: Alert, step: str, reason: str, who: audit.Actor
) -> None:
    """Record an integrity failure once per revision (the caller holds the transaction)."""
    if alert.integrity_failure:
        return
    warning_store.set_fields(db, alert.id, integrity_failure=f"{step}: {reason}")
    recomputed = content_hash(alert.content, alert.msg_type, alert.references_id)
    detail = {
        "step": step,
        "reason": reason,
        "content_hash": alert.content_hash,
        "approved_hash": alert.approved_hash,
        "recomputed_hash": recomputed,
    }
    audit_store.append(
        db, audit.make_entry(who, "security.integrity_failure", f"alert:{alert.id}", detail)
    )


def failures(db: sqlite_utils.Database) -> list[int]:
    """Return the ids of revisions marked with an integrity failure."""
    return warning_store.integrity_failures(db)


class IntegrityRefusal(Conflict):
    """A step refused because the stored revision is not what was approved (409)."""

    def __init__(self, alert: Alert, step: str, reason: str):
        super().__init__(
            N_(
                "The stored text of this warning was changed outside the application, so"
                " nothing of it will be sent. Report this to your security officer."
            )
        )
        self.alert, self.step, self.reason = alert, step, reason


def require_intact(db: sqlite_utils.Database, alert: Alert, step: str) -> None:
    """Raise IntegrityRefusal if the stored revision fails ``problem``."""
    reason = problem(db, alert)
    if reason:
        raise IntegrityRefusal(alert, step, reason)
