"""Counting portal views, code checks and indicator lookups without writing per request:
counts gather in memory, per warning code, kind and minute (per day, kind and key for
lookups), and are added to the counters in one short write every ``FLUSH_SECONDS`` or
when ``MAX_KEYS`` distinct keys wait. Nothing about the visitor is kept, not even in
memory. What a process holds when it dies unflushed (at most ``FLUSH_SECONDS``) is lost:
a view count is an estimate, never worth a write per view on SQLite's one lock."""

from __future__ import annotations

import threading
import time
from collections import Counter

import sqlite_utils

from alerts.clock import now_text
from alerts.db import write
from alerts.residents import portal
from alerts.store import reach_counts

KINDS = ("page", "cap", "verify")
FLUSH_SECONDS = 10.0
MAX_KEYS = 5_000


class Counters:
    """One process's pending counts (thread-safe); ``flush`` writes them."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._views: Counter[tuple[str, str, str]] = Counter()
        self._lookups: Counter[tuple[str, str, str]] = Counter()
        self._clock = clock
        self._since = clock()

    def view(self, code: str, kind: str) -> None:
        """Count one view (``kind`` of KINDS) of the warning with this code, as typed."""
        with self._lock:
            self._views[(code[:40], kind, now_text()[:16])] += 1

    def lookup(self, kind: str, key: str) -> None:
        """Count one lookup of an indicator that a published warning lists."""
        with self._lock:
            self._lookups[(now_text()[:10], kind, key)] += 1

    def due(self) -> bool:
        """Whether the pending counts should be written now."""
        with self._lock:
            waiting = len(self._views) + len(self._lookups)
            return waiting >= MAX_KEYS or (
                waiting > 0 and self._clock() - self._since >= FLUSH_SECONDS
            )

    def flush(self, db: sqlite_utils.Database) -> int:
        """Write what is pending in one transaction; return how many views it added. A code
        that names no published warning is dropped."""
        with self._lock:
            views, lookups = self._views, self._lookups
            self._views, self._lookups, self._since = Counter(), Counter(), self._clock()
        rows, ids = [], {}
        for (code, kind, minute), count in views.items():
            if code not in ids:
                found = portal.find_warning(db, code)
                ids[code] = found.id if found else None
            if ids[code] is not None:
                rows.append((ids[code], kind, minute, count))
        if rows or lookups:
            with write(db):
                reach_counts.add_views(db, rows)
                reach_counts.add_lookups(db, [(*key, n) for key, n in lookups.items()])
        return sum(row[3] for row in rows)
