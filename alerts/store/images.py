"""Images attached to warnings, stored in the database by their SHA-256."""

from __future__ import annotations

import sqlite_utils

from alerts.clock import now_text


def save_image(db: sqlite_utils.Database, sha256: str, mime: str, data: bytes) -> None:
    """Store an image once (the same bytes are stored only once)."""
    db.execute(
        "INSERT OR IGNORE INTO images (sha256, mime, data, created_at) VALUES (?, ?, ?, ?)",
        [sha256, mime, data, now_text()],
    )


def exists(db: sqlite_utils.Database, sha256: str) -> bool:
    """Return whether an image with this hash is stored."""
    return db.execute("SELECT 1 FROM images WHERE sha256 = ?", [sha256]).fetchone() is not None


def get_image(db: sqlite_utils.Database, sha256: str) -> tuple[str, bytes] | None:
    """Return (mime type, bytes) of a stored image, or None."""
    row = db.execute("SELECT mime, data FROM images WHERE sha256 = ?", [sha256]).fetchone()
    return (row[0], bytes(row[1])) if row else None
