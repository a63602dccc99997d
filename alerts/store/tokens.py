"""Personal access tokens for the API: only a SHA-256 of each token is stored.

Reading the database (or a backup) therefore does not hand out working tokens; ``prefix``
is the short, non-secret start of the token, kept so people can tell their tokens apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

_COLUMNS = "id, user_id, name, prefix, created_at, last_used_at, revoked_at"


@dataclass(frozen=True)
class ApiToken:
    """A stored token, without its secret."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


def _token(row: tuple | None) -> ApiToken | None:
    return ApiToken(*row) if row else None


def insert_token(
    db: sqlite_utils.Database, *, user_id: int, name: str, token_hash: str, prefix: str, now: str
) -> int:
    """Record a new token of a user; return its id."""
    cursor = db.execute(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [user_id, name, token_hash, prefix, now],
    )
    return cursor.lastrowid


def get_token(db: sqlite_utils.Database, token_id: int) -> ApiToken | None:
    """Return the token with this id (revoked or not), or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM api_tokens WHERE id = ?", [token_id]).fetchone()
    return _token(row)


def get_token_by_hash(db: sqlite_utils.Database, token_hash: str) -> ApiToken | None:
    """Return the token whose secret hashes to ``token_hash`` (revoked or not), or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = ?", [token_hash]
    ).fetchone()
    return _token(row)


def user_tokens(db: sqlite_utils.Database, user_id: int) -> list[ApiToken]:
    """Return every token of a user, oldest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY id", [user_id]
    ).fetchall()
    return [ApiToken(*r) for r in rows]


def touch_token(db: sqlite_utils.Database, token_id: int, now: str) -> None:
    """Record that a token was used."""
    db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, token_id])


def revoke_token(db: sqlite_utils.Database, token_id: int, now: str) -> bool:
    """Revoke a token; return False if it was already revoked."""
    cursor = db.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [now, token_id],
    )
    return cursor.rowcount == 1
