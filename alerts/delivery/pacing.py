"""Pacing: token buckets that make a sender wait for its turn instead of earning a 429.

One bucket per account (the provider's global limit) and, where the provider limits each
chat, one per target. Buckets live in the single worker process, which is why only one
worker may run per database; they are used from the engine's one event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from collections.abc import Hashable

BURST_SECONDS = 0.02


class Bucket:
    """A token bucket: ``rate`` tokens per second, bursts of at most ``burst``. By default
    20 ms worth of tokens, at least one: every provider limit under 50/s (Telegram, Zalo,
    Facebook, email, webhooks) gets evenly spaced sends, so a provider counting in a sliding
    second never sees a burst, while a gateway taking thousands a second is not paced
    message by message (a sliding second then sees at most 2% over the rate)."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable = time.monotonic):
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate * BURST_SECONDS)
        self.tokens = self.burst
        self.clock = clock
        self.updated = clock()

    def reserve(self) -> float:
        """Take a token; return how long to wait before using it (0 if one was ready)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Pacer:
    """Buckets by key, created on first use."""

    def __init__(self):
        self.buckets: dict[Hashable, Bucket] = {}

    async def wait(self, key: Hashable, rate: float) -> None:
        """Wait until ``key`` may send one more message at ``rate`` per second (no
        suspension at all when a token is ready: the usual case for a fast gateway). With
        several limits, wait for the account's own last, right before the request: a turn
        taken and then left waiting for another limit would let sends bunch up in the
        provider's window."""
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = self.buckets[key] = Bucket(rate)
        delay = bucket.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
