"""Server-side sign-in sessions, so that sign-out and account changes really end them.

Only a SHA-256 of each session token is stored: reading the database does not hand out
live sessions.
"""

from __future__ import annotations

import sqlite_utils


def create_session(db: sqlite_utils.Database, token_hash: str, user_id: int, now: str) -> None:
    """Record a new session for a user."""
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        [token_hash, user_id, now, now],
    )


def get_session(db: sqlite_utils.Database, token_hash: str) -> tuple[int, str, str] | None:
    """Return (user id, created at, last seen at) of a live session, or None."""
    return db.execute(
        "SELECT user_id, created_at, last_seen_at FROM sessions"
        " WHERE token_hash = ? AND revoked_at IS NULL",
        [token_hash],
    ).fetchone()


def touch_session(db: sqlite_utils.Database, token_hash: str, now: str) -> None:
    """Record activity on a session."""
    db.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", [now, token_hash])


def revoke_session(db: sqlite_utils.Database, token_hash: str, now: str) -> None:
    """End one session."""
    db.execute(
        "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
        [now, token_hash],
    )


def revoke_user_sessions(
    db: sqlite_utils.Database, user_id: int, now: str, *, keep: str = ""
) -> int:
    """End every session of a user but the one whose hash is ``keep``; return how many."""
    cursor = db.execute(
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
        " AND token_hash != ?",
        [now, user_id, keep],
    )
    return cursor.rowcount
