"""The worker's lease row: who dispatches, and when it last said so."""

from __future__ import annotations

import sqlite_utils

LEASE_NAME = "dispatcher"


def get_lease(db: sqlite_utils.Database) -> dict | None:
    """Return the lease (holder, last heartbeat, expiry), or None when no worker runs."""
    row = db.execute(
        "SELECT holder, heartbeat_at, expires_at FROM worker_lease WHERE name = ?", [LEASE_NAME]
    ).fetchone()
    return dict(zip(("holder", "heartbeat_at", "expires_at"), row, strict=True)) if row else None
