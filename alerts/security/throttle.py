"""Sign-in throttling: growing delays instead of a hard lockout.

A hard lockout lets anyone lock an officer out by typing wrong passwords (ASVS 6.1.1), so
after ``limit`` failures in the window each further failure doubles a short wait, capped at
15 minutes. Keys are never an account alone (see ``alerts.staff.signin.check_password``).
Counters live in the database so every process enforces the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)


@dataclass(frozen=True)
class Counter:
    """Failures of one key (an account from an address, or an address) in the window."""

    failures: int
    window_started_at: datetime
    blocked_until: datetime | None


def blocked_for(counter: Counter | None, now: datetime) -> timedelta | None:
    """Return how long the key must still wait, or None if it may try now."""
    if counter is None or counter.blocked_until is None or counter.blocked_until <= now:
        return None
    return counter.blocked_until - now


def after_failure(counter: Counter | None, now: datetime, limit: int, window: timedelta) -> Counter:
    """Return the counter after one more failure."""
    if counter is None or now - counter.window_started_at > window:
        counter = Counter(0, now, None)
    failures = counter.failures + 1
    blocked_until = None
    if failures >= limit:
        delay = min(BASE_DELAY * 2 ** (failures - limit), MAX_DELAY)
        blocked_until = now + delay
    return Counter(failures, counter.window_started_at, blocked_until)
