"""Receipts from the providers: a sent delivery becomes delivered, read, or failed with the
provider's reason (eSMS's final status, Zalo's received and seen, an email's hard bounce).

The engine's status stays "sent": the receipt is what the provider reported afterwards,
shown beside it on the warning's progress and in the dead-letter view.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlite_utils

from alerts.clock import to_text
from alerts.inbound import RECEIPT_STATES
from alerts.store import receipts as store


def apply(db: sqlite_utils.Database, config: Mapping, context) -> str:
    """Apply one receipt event (``data``: state, detail, and provider_id or delivery_id)."""
    data = context.event.data
    state = data.get("state")
    if state not in RECEIPT_STATES:
        raise ValueError(f"unknown receipt state {state!r}")
    delivery_id = data.get("delivery_id")
    provider_id = data.get("provider_id")
    if delivery_id is None and not provider_id:
        raise ValueError("a receipt names no delivery")
    moved = store.record(
        db,
        context.account.id,
        state,
        data.get("at") or to_text(context.now),
        str(data.get("detail") or ""),
        provider_id=None if provider_id is None else str(provider_id),
        delivery_id=None if delivery_id is None else int(delivery_id),
    )
    return f"{state} {moved}"
