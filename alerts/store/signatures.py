"""Signatures of published messages (append-only: a trigger refuses changes)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from alerts.clock import now_text


@dataclass(frozen=True)
class StoredSignature:
    """A message's signature: the key that made it, the exact bytes signed, the value."""

    warning_id: int
    msg_type: str
    key_id: str
    payload: bytes
    signature: str
    signed_at: str


def save_signature(
    db: sqlite_utils.Database,
    warning_id: int,
    msg_type: str,
    key_id: str,
    payload: bytes,
    signature: str,
) -> None:
    """Store the signature of one message of a revision (its Alert/Update, or its Cancel)."""
    db.execute(
        "INSERT INTO signatures (warning_id, msg_type, key_id, payload, signature, signed_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [warning_id, msg_type, key_id, payload, signature, now_text()],
    )


def get_signature(
    db: sqlite_utils.Database, warning_id: int, msg_type: str
) -> StoredSignature | None:
    """Return the signature of one message of a revision, or None."""
    row = db.execute(
        "SELECT warning_id, msg_type, key_id, payload, signature, signed_at FROM signatures"
        " WHERE warning_id = ? AND msg_type = ?",
        [warning_id, msg_type],
    ).fetchone()
    return StoredSignature(*row[:3], bytes(row[3]), *row[4:]) if row else None


def signatures_of(db: sqlite_utils.Database, warning_id: int) -> list[StoredSignature]:
    """Return every signature of a revision (its publication, then its cancellation)."""
    rows = db.execute(
        "SELECT warning_id, msg_type, key_id, payload, signature, signed_at FROM signatures"
        " WHERE warning_id = ? ORDER BY signed_at, msg_type",
        [warning_id],
    ).fetchall()
    return [StoredSignature(*r[:3], bytes(r[3]), *r[4:]) for r in rows]
