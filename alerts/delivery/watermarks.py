"""Messenger's receipts (../shared/channels-inbound.md §2.4): a ``delivery`` names the
messages delivered (``mids``) and a watermark, a ``read`` only a watermark; either means
every message to that resident (PSID) sent up to the watermark got there.

So a receipt moves the deliveries it names by their provider id and then every earlier
sent delivery of the account to that PSID, forward only (a late "delivered" never hides a
"read"). Stored times have seconds' precision: a message sent in the watermark's second
counts as covered.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlite_utils

from alerts.clock import from_text
from alerts.clock import to_text
from alerts.inbound import RECEIPT_STATES
from alerts.store import receipts as store


def apply(db: sqlite_utils.Database, config: Mapping, context) -> str:
    """Apply one Messenger receipt (``data``: state, watermark, mids, detail)."""
    data, psid = context.event.data, context.event.sender
    state = data.get("state")
    if state not in RECEIPT_STATES or not psid or not data.get("watermark"):
        raise ValueError("a Messenger receipt without its state, resident or watermark")
    at, detail = to_text(context.now), str(data.get("detail") or "")
    account_id = context.account.id
    moved = sum(
        store.record(db, account_id, state, at, detail, provider_id=str(mid))
        for mid in data.get("mids") or []
    )
    up_to = to_text(from_text(str(data["watermark"])))
    moved += store.record_up_to(db, account_id, psid, up_to, state, at, detail)
    return f"{state} {moved}"
