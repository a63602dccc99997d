"""Counters of failed sign-ins, kept in the database so every process sees the same."""

from __future__ import annotations

import sqlite_utils


def get_counter(db: sqlite_utils.Database, key: str) -> tuple[int, str, str | None] | None:
    """Return (failures, window started at, blocked until) for a key, or None."""
    return db.execute(
        "SELECT failures, window_started_at, blocked_until FROM signin_throttle WHERE key = ?",
        [key],
    ).fetchone()


def put_counter(
    db: sqlite_utils.Database,
    key: str,
    failures: int,
    window_started_at: str,
    blocked_until: str | None,
) -> None:
    """Store the counter of a key."""
    db.execute(
        "INSERT INTO signin_throttle (key, failures, window_started_at, blocked_until)"
        " VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET failures = excluded.failures,"
        " window_started_at = excluded.window_started_at, blocked_until = excluded.blocked_until",
        [key, failures, window_started_at, blocked_until],
    )


def clear_counter(db: sqlite_utils.Database, key: str) -> None:
    """Forget the failures of a key (after a successful sign-in)."""
    db.execute("DELETE FROM signin_throttle WHERE key = ?", [key])
