"""Credential and role changes made to staff accounts, by whom and when (append-only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

KINDS = ("created", "password_reset", "totp_reset", "roles", "unit")


@dataclass(frozen=True)
class AccountChange:
    """One change to ``user_id``'s account made by ``by_user_id`` (None: the system)."""

    user_id: int
    kind: str
    by_user_id: int | None
    by_username: str | None
    at: str


_SELECT = (
    "SELECT c.user_id, c.kind, c.by_user_id, u.username, c.at FROM account_changes c"
    " LEFT JOIN users u ON u.id = c.by_user_id"
)


def record(
    db: sqlite_utils.Database, user_id: int, kind: str, by_user_id: int | None, at: str
) -> None:
    """Append one change (the caller holds the transaction)."""
    db.execute(
        "INSERT INTO account_changes (user_id, kind, by_user_id, at) VALUES (?, ?, ?, ?)",
        [user_id, kind, by_user_id, at],
    )


def since(db: sqlite_utils.Database, user_ids: Iterable[int], at: str) -> list[AccountChange]:
    """Return the changes made to any of these accounts at or after ``at``, oldest first."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = db.execute(
        f"{_SELECT} WHERE c.user_id IN ({marks}) AND c.at >= ? ORDER BY c.id", [*ids, at]
    ).fetchall()
    return [AccountChange(*row) for row in rows]


def of_user(db: sqlite_utils.Database, user_id: int, limit: int = 20) -> list[AccountChange]:
    """Return the latest changes made to one account by someone else, newest first."""
    rows = db.execute(
        f"{_SELECT} WHERE c.user_id = ? AND (c.by_user_id IS NULL OR c.by_user_id != c.user_id)"
        " ORDER BY c.id DESC LIMIT ?",
        [user_id, limit],
    ).fetchall()
    return [AccountChange(*row) for row in rows]
