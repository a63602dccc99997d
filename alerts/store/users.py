"""Staff accounts and their roles."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from alerts.clock import now_text
from alerts.models import Role
from alerts.models import User
from alerts.store import like_pattern

_COLUMNS = "id, username, full_name, unit_id, active, is_demo, totp_enabled, must_change_password"


def _roles(db: sqlite_utils.Database, user_id: int) -> frozenset[Role]:
    rows = db.execute("SELECT role FROM user_roles WHERE user_id = ?", [user_id]).fetchall()
    return frozenset(Role(r[0]) for r in rows)


def _user(db: sqlite_utils.Database, row: tuple | None) -> User | None:
    if row is None:
        return None
    user_id, username, full_name, unit_id, active, is_demo, totp_enabled, must_change = row
    return User(
        user_id,
        username,
        full_name,
        unit_id,
        bool(active),
        bool(is_demo),
        bool(totp_enabled),
        _roles(db, user_id),
        bool(must_change),
    )


def create_user(
    db: sqlite_utils.Database,
    *,
    username: str,
    full_name: str,
    unit_id: int,
    password_hash: str,
    roles: Iterable[Role],
    is_demo: bool = False,
) -> int:
    """Insert a user with roles and return its id (the caller holds the transaction)."""
    now = now_text()
    cursor = db.execute(
        "INSERT INTO users (username, full_name, unit_id, password_hash, is_demo,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [username, full_name, unit_id, password_hash, int(is_demo), now, now],
    )
    set_roles(db, cursor.lastrowid, roles)
    return cursor.lastrowid


def set_roles(db: sqlite_utils.Database, user_id: int, roles: Iterable[Role]) -> None:
    """Replace the user's roles."""
    db.execute("DELETE FROM user_roles WHERE user_id = ?", [user_id])
    db.conn.executemany(
        "INSERT INTO user_roles (user_id, role) VALUES (?, ?)",
        [(user_id, Role(r).value) for r in sorted(set(roles))],
    )


def update_user(db: sqlite_utils.Database, user_id: int, **fields: object) -> None:
    """Update plain columns of a user (name, unit, active, password, totp_*, must_change_*,
    the languages)."""
    allowed = {
        "full_name",
        "unit_id",
        "active",
        "password_hash",
        "totp_secret",
        "totp_enabled",
        "must_change_password",
        "language",
        "ui_language",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(
        f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
        [*fields.values(), now_text(), user_id],
    )


def get_user(db: sqlite_utils.Database, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    return _user(db, db.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", [user_id]).fetchone())


def get_user_by_username(db: sqlite_utils.Database, username: str) -> User | None:
    """Return the user with this username, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", [username]).fetchone()
    return _user(db, row)


def languages(db: sqlite_utils.Database, user_id: int) -> tuple[str | None, str | None]:
    """Return a user's notice language and last UI language (m023; None when unset)."""
    row = db.execute("SELECT language, ui_language FROM users WHERE id = ?", [user_id]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def active_approvers(db: sqlite_utils.Database, unit_id: int) -> list[User]:
    """Return the active approvers of one unit, by id."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM users u WHERE unit_id = ? AND active = 1 AND EXISTS"
        " (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = 'approver')"
        " ORDER BY id",
        [unit_id],
    ).fetchall()
    return [_user(db, row) for row in rows]


def password_hash(db: sqlite_utils.Database, user_id: int) -> str:
    """Return the stored password hash of a user."""
    return db.execute("SELECT password_hash FROM users WHERE id = ?", [user_id]).fetchone()[0]


def totp_state(db: sqlite_utils.Database, user_id: int) -> tuple[str | None, int]:
    """Return (TOTP secret, last accepted time step) of a user."""
    row = db.execute(
        "SELECT totp_secret, totp_last_step FROM users WHERE id = ?", [user_id]
    ).fetchone()
    return row[0], row[1]


def claim_totp_step(db: sqlite_utils.Database, user_id: int, step: int) -> bool:
    """Record a used TOTP time step; return False if it (or a later one) was used already."""
    cursor = db.execute(
        "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
        [step, user_id, step],
    )
    return cursor.rowcount == 1


def list_users(
    db: sqlite_utils.Database, unit_ids: Iterable[int] | None, *, query: str = "", limit: int = 200
) -> list[User]:
    """Return users of the given units (all units when None), matching a name query."""
    sql = (
        f"SELECT {_COLUMNS} FROM users"
        " WHERE (username LIKE ? ESCAPE '\\' OR fold(full_name) LIKE ? ESCAPE '\\')"
    )
    pattern = like_pattern(query)
    params: list = [pattern, pattern]
    if unit_ids is not None:
        ids = list(unit_ids)
        sql += f" AND unit_id IN ({', '.join('?' * len(ids)) or 'NULL'})"
        params += ids
    sql += " ORDER BY username LIMIT ?"
    params.append(limit)
    return [_user(db, r) for r in db.execute(sql, params).fetchall()]


def count_users(db: sqlite_utils.Database) -> int:
    """Return how many users exist."""
    return db.execute("SELECT count(*) FROM users").fetchone()[0]
