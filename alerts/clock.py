"""Time in one place: everything is stored in UTC, shown in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the one place tests may freeze)."""
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """Return the ISO 8601 text stored in the database (UTC, seconds precision)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_text(text: str) -> datetime:
    """Parse a stored timestamp back into an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def now_text() -> str:
    """Return the current UTC time as stored text."""
    return to_text(utcnow())
