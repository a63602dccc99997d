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

Counting alone would let a whole second's worth leave at once, and a burst reaches the
provider spread out, to be counted next to the following one: each account's turns are
also evenly spaced (``Spacing``). A provider's 429 holds the whole key (a bot, an account)
for the time it says: no turn is granted before. Per account a window and a spacing and,
where the provider limits them, a window per chat or group. They live in the single
worker process (only one worker may run per database) and are used from the engine's one
event loop.
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

    def grant(self, now: float) -> None:
        self.pending += 1

    def sent_at(self, now: float) -> None:
        self.pending -= 1
        self.sent.append(now)

    def give_back(self) -> None:
        self.pending -= 1

    def idle(self, now: float) -> bool:
        """Return whether the window remembers nothing that still counts."""
        return (
            not self.pending
            and now >= self.held_until
            and not (self.sent and now - self.sent[-1] < self.period)
        )


class Spacing:
    """Turns spaced evenly at ``rate`` per second, with bursts of BURST_SECONDS worth (at
    least one), counted when each turn is granted: a token bucket. Under 50/s (Telegram,
    Zalo, Facebook, email, webhooks) that is one turn at a time (Telegram, 28/s: one
    every 36 ms), so no burst reaches the provider to be counted late and the next one
    early; a gateway taking thousands a second is not paced message by message (5000/s:
    100 per 20 ms).
    Granting by the turn rather than the send lets the next turn come while the last one
    is still having its start written; the account's Window keeps the count honest."""

    def __init__(self, rate: float):
        self.rate = rate
        self.burst = max(1.0, rate * BURST_SECONDS)
        self.tokens = self.burst
        self.updated = time.monotonic()
        self.held_until = 0.0

    def wait(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def grant(self, now: float) -> None:
        self.tokens -= 1

    def sent_at(self, now: float) -> None:
        return None

    def give_back(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1)

    def idle(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


Limit = Window | Spacing


class Turn:
    """A granted turn in some limits: ``sent`` when the request leaves, or ``give_back``
    if it never does (the attempt was cancelled meanwhile)."""

    def __init__(self, limits: Sequence[Limit]):
        self.limits = limits
        now = time.monotonic()
        for limit in limits:
            limit.grant(now)

    def sent(self) -> None:
        now = time.monotonic()
        for limit in self.limits:
            limit.sent_at(now)
        self.limits = ()

    def give_back(self) -> None:
        for limit in self.limits:
            limit.give_back()
        self.limits = ()


# Past this many windows, the idle ones (no different from new) are dropped: every
# Telegram resident's chat has its own, and the worker runs for days.
PRUNE_AT = 10_000


class Pacer:
    """Windows and spacings by key, created on first use."""

    def __init__(self):
        self.windows: dict[Hashable, Limit] = {}
        self.prune_at = PRUNE_AT

    def window(self, key: Hashable, limit: int, period: float) -> Window:
        """Return the window of ``key`` (a new one if its limit changed)."""
        window = self.windows.get(key)
        if not isinstance(window, Window) or (window.limit, window.period) != (limit, period):
            window = self._new(key, Window(limit, period))
        return window

    def rate(self, key: Hashable, per_second: float) -> list[Limit]:
        """Return the limits of ``key`` at a rate per second: even spacing at the rate, and a
        window counting whole messages per second as the provider does (28/s: at most 28
        in any second; under one a second, one per 1/rate), which the spacing seldom
        reaches: a start written late never costs the next turn its place."""
        if per_second >= 1:  # what the provider counts: whole messages in a second
            window = self.window(key, math.ceil(per_second), 1.0)
        else:
            window = self.window(key, 1, 1 / per_second)
        spacing = self.windows.get((key, "spacing"))
        if not isinstance(spacing, Spacing) or spacing.rate != per_second:
            spacing = self._new((key, "spacing"), Spacing(per_second))
        return [window, spacing]

    def _new(self, key: Hashable, limit: Limit) -> Limit:
        if len(self.windows) >= self.prune_at:
            self._prune()
        self.windows[key] = limit
        return limit

    def hold(self, key: Hashable, seconds: float) -> None:
        """Grant ``key`` no turn for ``seconds`` (a provider's 429 said so)."""
        window = self.windows.get(key)
        if isinstance(window, Window):
            window.held_until = max(window.held_until, time.monotonic() + seconds)

    async def turn(self, limits: Sequence[Limit]) -> Turn:
        """Wait until every limit has room, then take a turn in all of them at once (no
        suspension when they have: the usual case for a fast gateway)."""
        while True:
            now = time.monotonic()
            delay = max(limit.wait(now) for limit in limits)
            if delay <= 0:
                return Turn(limits)
            await asyncio.sleep(delay)

    def _prune(self) -> None:
        """Drop the idle windows, then wait for the count to double before looking again."""
        now = time.monotonic()
        for key in [k for k, limit in self.windows.items() if limit.idle(now)]:
            del self.windows[key]
        self.prune_at = max(PRUNE_AT, 2 * len(self.windows))
