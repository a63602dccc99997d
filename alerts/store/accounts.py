"""Units' channel accounts, as the delivery engine reads them (secrets stay sealed here:
``alerts.security.vault`` opens them)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlite_utils

from alerts.clock import now_text

_COLUMNS = (
    "id, unit_id, channel, name, base_url, settings, secrets, active, test_audience,"
    " disabled_reason, breaker_failures, breaker_open_until"
)


@dataclass(frozen=True)
class StoredAccount:
    """A channel account as stored: ``secrets`` is the sealed (encrypted) blob."""

    id: int
    unit_id: int
    channel: str
    name: str
    base_url: str
    settings: dict
    secrets: bytes
    active: bool
    test_audience: bool
    disabled_reason: str | None
    breaker_failures: int
    breaker_open_until: str | None


def _account(row: tuple) -> StoredAccount:
    values = list(row)
    values[5] = json.loads(values[5])
    values[6] = bytes(values[6])
    values[7], values[8] = bool(values[7]), bool(values[8])
    return StoredAccount(*values)


def insert_account(
    db: sqlite_utils.Database,
    *,
    unit_id: int,
    channel: str,
    name: str,
    base_url: str,
    settings: dict,
    sealed: bytes,
    test_audience: bool = False,
) -> int:
    """Insert an account and return its id (the caller holds the transaction)."""
    cursor = db.execute(
        "INSERT INTO channel_accounts (unit_id, channel, name, base_url, settings, secrets,"
        " test_audience, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            unit_id,
            channel,
            name,
            base_url,
            json.dumps(settings),
            sealed,
            int(test_audience),
            now_text(),
        ],
    )
    return cursor.lastrowid


def get_account(db: sqlite_utils.Database, account_id: int) -> StoredAccount | None:
    """Return an account by id, or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM channel_accounts WHERE id = ?", [account_id]
    ).fetchone()
    return _account(row) if row else None


def accounts_of_units(db: sqlite_utils.Database, unit_ids: list[int]) -> list[StoredAccount]:
    """Return the accounts of some units (active or not), by unit then channel."""
    marks = ", ".join("?" * len(unit_ids)) or "NULL"
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM channel_accounts WHERE unit_id IN ({marks})"
        " ORDER BY unit_id, channel, name",
        unit_ids,
    )
    return [_account(r) for r in rows]


def set_secrets(db: sqlite_utils.Database, account_id: int, sealed: bytes) -> None:
    """Replace an account's sealed secrets (rotation, token refresh)."""
    db.execute(
        "UPDATE channel_accounts SET secrets = ?, updated_at = ? WHERE id = ?",
        [sealed, now_text(), account_id],
    )


def set_settings(db: sqlite_utils.Database, account_id: int, settings: dict) -> None:
    """Replace an account's settings (one naming the account's own hook URL, known only
    once the account has its id)."""
    db.execute(
        "UPDATE channel_accounts SET settings = ?, updated_at = ? WHERE id = ?",
        [json.dumps(settings), now_text(), account_id],
    )


def set_active(
    db: sqlite_utils.Database, account_id: int, active: bool, reason: str | None = None
) -> None:
    """Enable or disable an account (a disabled one sends nothing)."""
    db.execute(
        "UPDATE channel_accounts SET active = ?, disabled_reason = ?, breaker_failures = 0,"
        " breaker_open_until = NULL, updated_at = ? WHERE id = ?",
        [int(active), None if active else reason, now_text(), account_id],
    )


def set_breaker(
    db: sqlite_utils.Database, account_id: int, failures: int, open_until: str | None
) -> None:
    """Record the circuit breaker's state of an account."""
    db.execute(
        "UPDATE channel_accounts SET breaker_failures = ?, breaker_open_until = ? WHERE id = ?",
        [failures, open_until, account_id],
    )


def all_secrets(db: sqlite_utils.Database) -> list[tuple[int, bytes]]:
    """Return every account's id with its sealed secrets (to re-seal them after rotation)."""
    return db.execute("SELECT id, secrets FROM channel_accounts").fetchall()


def usable(db: sqlite_utils.Database, now: str) -> list[StoredAccount]:
    """Return the accounts the worker may send through now: active, breaker closed."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM channel_accounts WHERE active = 1"
        " AND (breaker_open_until IS NULL OR breaker_open_until <= ?) ORDER BY id",
        [now],
    ).fetchall()
    return [_account(r) for r in rows]


def active_of_channels(db: sqlite_utils.Database, channels: list[str]) -> list[StoredAccount]:
    """Return the active accounts of these channels, by id (breaker open or not)."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM channel_accounts WHERE active = 1"
        " AND channel IN (SELECT value FROM json_each(?)) ORDER BY id",
        [json.dumps(channels)],
    ).fetchall()
    return [_account(r) for r in rows]
