"""What staff see of a warning's deliveries: counts per channel and per province, live,
the dead letters with their full error history, and replaying one (audited)."""

from __future__ import annotations

import sqlite_utils

from alerts import audit
from alerts.clock import now_text
from alerts.db import write
from alerts.errors import Conflict
from alerts.errors import Forbidden
from alerts.errors import NotFound
from alerts.models import Acting
from alerts.models import Role
from alerts.residents.addresses import mask
from alerts.store import audit as audit_store
from alerts.store import deliveries as store
from alerts.store import delivery_counts
from alerts.store import fanouts as fanout_store
from alerts.store import receipts as receipt_store
from alerts.warnings import workflow
from alerts.warnings.models import Alert

STATES = ("queued", "sending", "sent", "failed", "dead", "cancelled")
# What providers reported after the send (receipts, issue 15), counted beside the states.
RECEIPTS = ("delivered", "read", "reported_failed")
# The newest dead letters a warning's page lists (their count is in the table above them):
# rendering 200, each with its history and a replay form, took a national warning's page
# past 200 ms (issue 17's data-scale bench).
DEAD_LISTED = 50


def _table(rows: list[dict], key: str) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = table.setdefault(row[key] or "—", dict.fromkeys(STATES + RECEIPTS, 0))
        counts[row["state"]] += row["count"]
    return table


def progress(db: sqlite_utils.Database, alert: Alert) -> dict:
    """Return the delivery counts of a revision: totals, per channel, per province.

    Every open warning page polls this: it reads the counts the deliveries' triggers keep
    (m021) and what open fan-outs have yet to queue, never the delivery rows."""
    rows = delivery_counts.by_state(db, [alert.id])
    totals = dict.fromkeys(STATES + RECEIPTS, 0)
    for row in rows:
        totals[row["state"]] += row["count"]
    channels = _table(rows, "channel")
    for channel, waiting in fanout_store.waiting(db, [alert.id]).items():
        # Subscribers of regions the worker has yet to queue (a large fan-out, m016).
        channels.setdefault(channel, dict.fromkeys(STATES + RECEIPTS, 0))["queued"] += waiting
        totals["queued"] += waiting
    for (_warning, channel, receipt), count in delivery_counts.by_receipt(db, [alert.id]).items():
        state = "reported_failed" if receipt == "failed" else receipt
        channels[channel][state] += count
        totals[state] += count
    return {
        "totals": totals,
        "channels": channels,
        "provinces": _table(rows, "province"),
        "done": totals["queued"] + totals["sending"] + totals["failed"] == 0,
    }


def dead_letters(db: sqlite_utils.Database, alert: Alert) -> list[dict]:
    """Return the revision's newest dead deliveries with their error history, the address
    masked."""
    return _masked(store.dead_letters(db, [alert.id], limit=DEAD_LISTED))


def reported_failed(db: sqlite_utils.Database, alert: Alert) -> list[dict]:
    """Return the revision's deliveries the provider reported failed after accepting them
    (an SMS the network could not deliver, a hard bounce), the address masked."""
    return _masked(receipt_store.reported_failed(db, [alert.id]))


def _masked(found: list[dict]) -> list[dict]:
    """Mask the residents' addresses of listed deliveries: staff see which delivery, not
    whose number (a unit's own broadcast has none)."""
    for item in found:
        if item["target"] != "broadcast":
            item["target"] = mask(item["channel"], item["target"])
    return found


def replay(db: sqlite_utils.Database, acting: Acting, delivery_id: int) -> None:
    """Queue a dead letter again (same idempotency key), for an approver who sees it."""
    found = store.get_delivery(db, delivery_id)
    if found is None:
        raise NotFound(delivery_id)
    workflow.visible(db, acting, found["warning_id"])
    if not acting.user.has(Role.APPROVER):
        raise Forbidden("Only approvers may do this.")
    with write(db):
        if not store.replay(db, delivery_id, now_text()):
            raise Conflict("Only a dead delivery of a warning still in force can be replayed.")
        audit_store.append(
            db,
            audit.make_entry(
                acting.actor,
                "delivery.replay",
                f"alert:{found['warning_id']}",
                {
                    "delivery": delivery_id,
                    "channel": found["channel"],
                    "key": found["idempotency_key"],
                },
            ),
        )
