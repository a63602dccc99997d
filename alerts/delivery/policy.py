"""How hard to push each channel, and when to try again.

Rates are the providers' published limits, enforced by us in sliding windows as the
providers count them (alerts/delivery/pacing.py; docs/reliability.md#rates; e.g. Telegram:
30 messages/s per bot, 1/s per chat, 20/min per group or channel,
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this; we stay
under, at 28/s, 0.95/s and 19/min), so a 429 is an exception, not the way we find the limit.
Under, not at: a request reaches the provider some milliseconds after it leaves, never
exactly as late as the one before it (a 429 was seen once at 28/s in a test run on a
machine loaded five times over, before each account's turns were both spaced and
counted). Retry schedules follow docs/reliability.md#retry-schedules; each delay is drawn
with full jitter (uniform between 0 and the step), Retry-After overrides the schedule, and
no retry is ever scheduled after the warning expires.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace

MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True)
class Policy:
    """One channel's concurrency, rates, attempt deadline and retry schedule."""

    concurrency: int
    per_second: float
    per_target_per_second: float | None
    deadline: float
    schedule: tuple[float, ...]
    # (messages, seconds) to one group or channel, where the provider limits them.
    per_group: tuple[int, float] | None = None

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1


_MESSAGING = (10, 30, 2 * MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR)
_GATEWAY = (10, 10, 20, 40, 80, 160, 320, 600, 600, 600, 600, 600)
_WEBHOOK = (5, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR)

POLICIES = {
    "telegram": Policy(16, 28.0, 0.95, 15.0, _MESSAGING, per_group=(19, 60.0)),
    "zalo": Policy(8, 20.0, None, 20.0, _MESSAGING),
    "facebook": Policy(2, 1.0, None, 20.0, _MESSAGING),
    # Brandname gateways take thousands a second (eSMS publishes no figure): the
    # account's own "per_second" setting lowers it to what its contract allows.
    "sms": Policy(128, 5000.0, None, 15.0, _GATEWAY),
    "email": Policy(8, 20.0, None, 30.0, _GATEWAY),
    "webhook": Policy(16, 50.0, None, 15.0, _WEBHOOK),
}
BREAKER_THRESHOLD = 5
BREAKER_OPEN_SECONDS = 30.0


def worst_case_seconds(rule: Policy, ahead: int) -> float:
    """Return how long the last of ``ahead`` attempts of a channel may take to end if every
    one of them runs to its deadline on the channel's slots, plus one deadline of pacing
    (the engine never holds more of an account than its rate lets out in one deadline)."""
    rounds = -(-ahead // rule.concurrency) + 1
    return rounds * rule.deadline


def with_rate(base: Policy, settings: Mapping) -> Policy:
    """Return the policy with an account's own rate; it may lower, never raise, the rate
    (a rate that is not a positive number is ignored)."""
    try:
        rate = float(settings.get("per_second", base.per_second))
    except (TypeError, ValueError):
        rate = base.per_second
    if not 0 < rate < base.per_second:
        return base
    return replace(base, per_second=rate)


def backoff(rule: Policy, attempt: int, rng: random.Random | None = None) -> float:
    """Return the delay before the next attempt, drawn with full jitter."""
    step = rule.schedule[min(max(attempt, 1), len(rule.schedule)) - 1]
    return (rng or random).uniform(0, step)
