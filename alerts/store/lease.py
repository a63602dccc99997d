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


def take(db: sqlite_utils.Database, holder: str, now: str, expires_at: str) -> None:
    """Write ``holder`` into the lease (taking it, or renewing it) until ``expires_at``."""
    db.execute(
        "INSERT INTO worker_lease (name, holder, heartbeat_at, expires_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder,"
        " heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
        [LEASE_NAME, holder, now, expires_at],
    )


def give_up(db: sqlite_utils.Database, holder: str) -> None:
    """Delete the lease if ``holder`` still holds it."""
    db.execute("DELETE FROM worker_lease WHERE name = ? AND holder = ?", [LEASE_NAME, holder])


def journal_mode(db: sqlite_utils.Database) -> str:
    """Return SQLite's journal mode ("wal" once the app opened the file), for /healthz."""
    return db.execute("PRAGMA journal_mode").fetchone()[0]
