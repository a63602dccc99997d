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

    def idle(self) -> bool:
        """Return whether the bucket is back to a full burst: no different from a new one."""
        return self.tokens + (self.clock() - self.updated) * self.rate >= self.burst

    def postpone(self, seconds: float) -> None:
        """Move the next turns back by ``seconds``: the turn last taken was used that
        much later than it was taken."""
        self.tokens -= seconds * self.rate


# Past this many buckets, those back to a full burst (idle: the same as new) are dropped:
# every Telegram resident's chat has its own, and the worker runs for days.
PRUNE_AT = 10_000


class Pacer:
    """Buckets by key, created on first use; per-chat turns are taken one message at a
    time (a lock per chat), so each is counted from when the one before it left."""

    def __init__(self):
        self.buckets: dict[Hashable, Bucket] = {}
        self.chats: dict[Hashable, asyncio.Lock] = {}
        self.prune_at = PRUNE_AT

    async def wait(
        self,
        key: Hashable,
        rate: float,
        target: Hashable | None = None,
        target_rate: float | None = None,
    ) -> None:
        """Wait until ``key`` may send one more message at ``rate`` per second and, where
        the provider also limits each chat, ``target`` at ``target_rate`` (no suspension
        at all when the tokens are ready: the usual case for a fast gateway).

        The chat's turn comes first (it may be a second away), the account's last, right
        before the request: a turn left waiting would let sends bunch up in the
        provider's window. The chat's next turn is then counted from when this message
        left, not from when its turn was taken, and a second message to the same chat
        takes its turn only after that."""
        if target is None or target_rate is None:
            await self._turn(key, rate)
            return
        lock = self.chats.get(target)
        if lock is None:
            lock = self.chats[target] = asyncio.Lock()
        async with lock:
            turn = await self._turn(target, target_rate)
            await self._turn(key, rate)
            self.buckets[target].postpone(time.monotonic() - turn)

    async def _turn(self, key: Hashable, rate: float) -> float:
        """Wait for ``key``'s next turn; return when that turn was (monotonic clock)."""
        bucket = self.buckets.get(key)
        if bucket is None or bucket.rate != rate:
            if len(self.buckets) >= self.prune_at:
                self._prune()
            bucket = self.buckets[key] = Bucket(rate)
        delay = bucket.reserve()
        turn = bucket.updated + delay
        if delay > 0:
            await asyncio.sleep(delay)
        return turn

    def _prune(self) -> None:
        """Drop the idle buckets (and their chats' locks), then wait for the count to
        double before looking again."""
        for key in [k for k, bucket in self.buckets.items() if bucket.idle()]:
            lock = self.chats.get(key)
            if lock is None or not lock.locked():
                del self.buckets[key]
                self.chats.pop(key, None)
        self.prune_at = max(PRUNE_AT, 2 * len(self.buckets))
