"""Pacing: sliding windows that make a sender wait for its turn instead of earning a 429.

Providers count what reaches them in a sliding window (Telegram: 30 messages in any second
per bot, one a second per chat, 20 a minute per group or channel,
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this), so we
count the same way: a window holds the moments its last sends left, and a turn is granted
only while the sends in the window plus the turns granted and not yet sent stay under the
limit. Counting the granted turns makes the limit hold for the moments the requests
actually leave, however late after its turn each one does (the slot first writes that
its attempt starts): take the send with the latest turn in any window of the period;
when it was granted, every other send of that window had been granted before and was
either still pending or already sent within the period, so it was counted.

A provider's 429 holds the whole key (a bot, an account) for the time it says: no turn
is granted before. One window per account and, where the provider limits them, one per
chat or group. Windows live in the single worker process (only one worker may run per
database) and are used from the engine's one event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Hashable
from collections.abc import Sequence

BURST_SECONDS = 0.02
# How long a waiter sleeps when the window is full of turns not yet sent (their send
# moment, which frees nothing before a period has passed, is not known yet).
POLL_SECONDS = 0.01


class Window:
    """At most ``limit`` sends in any ``period`` seconds, counted when each one leaves."""

    def __init__(self, limit: int, period: float):
        self.limit = limit
        self.period = period
        self.sent: deque[float] = deque()
        self.pending = 0  # turns granted, not yet sent or given back
        self.held_until = 0.0

    @classmethod
    def for_rate(cls, per_second: float) -> Window:
        """Return the window of a rate: BURST_SECONDS worth of messages (at least one) per
        the period that holds them. Every provider limit under 50/s (Telegram, Zalo,
        Facebook, email, webhooks) gets evenly spaced sends (28/s: one per 36 ms), so no
        burst reaches the provider to be counted late and the next one early; a gateway
        taking thousands a second is not paced message by message (5000/s: 100 per 20 ms)."""
        burst = max(1, math.floor(per_second * BURST_SECONDS))
        return cls(burst, burst / per_second)

    def wait(self, now: float) -> float:
        """Return how long until a turn could be granted (0: now)."""
        if now < self.held_until:
            return self.held_until - now
        while self.sent and now - self.sent[0] >= self.period:
            self.sent.popleft()
        if len(self.sent) + self.pending < self.limit:
            return 0.0
        if len(self.sent) >= self.limit or not self.pending:
            return max(self.sent[0] + self.period - now, 0.0) or POLL_SECONDS
        return POLL_SECONDS

    def idle(self, now: float) -> bool:
        """Return whether the window remembers nothing that still counts."""
        return (
            not self.pending
            and now >= self.held_until
            and not (self.sent and now - self.sent[-1] < self.period)
        )


class Turn:
    """A granted turn in some windows: ``sent`` when the request leaves, or ``give_back``
    if it never does (the attempt was cancelled meanwhile)."""

    def __init__(self, windows: Sequence[Window]):
        self.windows = windows
        for window in windows:
            window.pending += 1

    def sent(self) -> None:
        now = time.monotonic()
        for window in self.windows:
            window.pending -= 1
            window.sent.append(now)
        self.windows = ()

    def give_back(self) -> None:
        for window in self.windows:
            window.pending -= 1
        self.windows = ()


# Past this many windows, the idle ones (no different from new) are dropped: every
# Telegram resident's chat has its own, and the worker runs for days.
PRUNE_AT = 10_000


class Pacer:
    """Windows by key, created on first use."""

    def __init__(self):
        self.windows: dict[Hashable, Window] = {}
        self.prune_at = PRUNE_AT

    def window(self, key: Hashable, limit: int, period: float) -> Window:
        """Return the window of ``key`` (a new one if its limit changed)."""
        window = self.windows.get(key)
        if window is None or (window.limit, window.period) != (limit, period):
            if len(self.windows) >= self.prune_at:
                self._prune()
            window = self.windows[key] = Window(limit, period)
        return window

    def rate(self, key: Hashable, per_second: float) -> Window:
        """Return the window of ``key`` at a rate per second."""
        shape = Window.for_rate(per_second)
        return self.window(key, shape.limit, shape.period)

    def hold(self, key: Hashable, seconds: float) -> None:
        """Grant ``key`` no turn for ``seconds`` (a provider's 429 said so)."""
        window = self.windows.get(key)
        if window is not None:
            window.held_until = max(window.held_until, time.monotonic() + seconds)

    async def turn(self, windows: Sequence[Window]) -> Turn:
        """Wait until every window has room, then take a turn in all of them at once (no
        suspension when they have: the usual case for a fast gateway)."""
        while True:
            now = time.monotonic()
            delay = max(window.wait(now) for window in windows)
            if delay <= 0:
                return Turn(windows)
            await asyncio.sleep(delay)

    def _prune(self) -> None:
        """Drop the idle windows, then wait for the count to double before looking again."""
        now = time.monotonic()
        for key in [k for k, window in self.windows.items() if window.idle(now)]:
            del self.windows[key]
        self.prune_at = max(PRUNE_AT, 2 * len(self.windows))
