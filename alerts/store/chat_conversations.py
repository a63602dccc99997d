"""Where a resident's conversation with the bot or the OA stands (m016), sealed.

Every change runs inside the caller's ``write`` transaction.
"""

from __future__ import annotations

import sqlite_utils


def get(db: sqlite_utils.Database, party: str, now: str) -> bytes | None:
    """Return the sealed state of a conversation, or None if there is none or it expired."""
    row = db.execute(
        "SELECT sealed FROM chat_conversations WHERE party = ? AND expires_at > ?", [party, now]
    ).fetchone()
    return row[0] if row else None


def put(db: sqlite_utils.Database, party: str, sealed: bytes, now: str, expires_at: str) -> None:
    """Keep a conversation's state (replacing the last), and drop the expired ones."""
    db.execute("DELETE FROM chat_conversations WHERE expires_at <= ?", [now])
    db.execute(
        "INSERT INTO chat_conversations (party, sealed, updated_at, expires_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (party) DO UPDATE SET sealed = excluded.sealed,"
        " updated_at = excluded.updated_at, expires_at = excluded.expires_at",
        [party, sealed, now, expires_at],
    )


def drop(db: sqlite_utils.Database, party: str) -> None:
    """End a conversation (the report was filed, or the resident gave up)."""
    db.execute("DELETE FROM chat_conversations WHERE party = ?", [party])
