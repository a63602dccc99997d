"""Pacing: sliding windows that make a sender wait for its turn instead of earning a 429.

Providers count what reaches them in a sliding window (Telegram: 30 messages in any second
per bot, one a second per chat, 20 a minute per group or channel,
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this), so we
count the same way. The provider counts each request at the moment it arrives, which we
never see: only that it lies between the turn we granted and the answer we read. So a
turn holds its place in the window from its grant until a whole period after its answer,
and a turn is granted only while fewer than the limit are held. That bound needs no guess
of the jitter in between (seen: requests bunched by 100 ms on a loaded machine, which a
window counting the moments they left let through as a 31st in the provider's second):
take the send with the latest turn in any period of arrivals; every other send of that
period was granted before it and answered after its arrival, so less than a period before
that turn, and was still held when it was granted. The cost is the answer's round trip
added to each place's period (28/s at a 5 ms round trip: 27.9/s).

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
# How long a waiter sleeps when the window is full of turns not yet answered (their
# answer, which frees nothing before a period has passed, is not known yet).
POLL_SECONDS = 0.01


class Window:
    """At most ``limit`` sends in any ``period`` seconds of arrivals: a place is held from
    its turn until ``period`` after its answer."""

    def __init__(self, limit: int, period: float):
        self.limit = limit
        self.period = period
        self.answered: deque[float] = deque()  # moments of answers, oldest first
        self.pending = 0  # turns granted, not yet answered or given back
        self.held_until = 0.0

    def wait(self, now: float) -> float:
        """Return how long until a turn could be granted (0: now)."""
        if now < self.held_until:
            return self.held_until - now
        while self.answered and now - self.answered[0] >= self.period:
            self.answered.popleft()
        if len(self.answered) + self.pending < self.limit:
            return 0.0
        if len(self.answered) >= self.limit or not self.pending:
            return max(self.answered[0] + self.period - now, 0.0) or POLL_SECONDS
        return POLL_SECONDS

    def grant(self, now: float) -> None:
        self.pending += 1

    def answered_at(self, now: float) -> None:
        self.pending -= 1
        self.answered.append(now)

    def give_back(self) -> None:
        self.pending -= 1

    def idle(self, now: float) -> bool:
        """Return whether the window remembers nothing that still counts."""
        return (
            not self.pending
            and now >= self.held_until
            and not (self.answered and now - self.answered[-1] < self.period)
        )


class Spacing:
    """Turns spaced evenly at ``rate`` per second, with bursts of BURST_SECONDS worth (at
    least one), counted when each turn is granted: a token bucket. Under 50/s (Telegram,
    Zalo, Facebook, email, webhooks) that is one turn at a time (Telegram, 28/s: one
    every 36 ms), so no burst reaches the provider to be counted late and the next one
    early; a gateway taking thousands a second is not paced message by message (5000/s:
    100 per 20 ms).
    Granting by the turn rather than the answer lets the next turn come while the last
    one is still on its way; the account's Window keeps the count honest."""

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

    def answered_at(self, now: float) -> None:
        return None

    def give_back(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1)

    def idle(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


Limit = Window | Spacing


class Turn:
    """A granted turn in some limits: ``answered`` once the provider's answer is read (or
    the attempt gave up waiting for it), or ``give_back`` if the request never left (the
    attempt was cancelled meanwhile)."""

    def __init__(self, limits: Sequence[Limit]):
        self.limits = limits
        now = time.monotonic()
        for limit in limits:
            limit.grant(now)

    def answered(self) -> None:
        now = time.monotonic()
        for limit in self.limits:
            limit.answered_at(now)
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
