"""Pacing and the worst case the engine sizes its leases by: arithmetic on a fake clock,
and one run of senders on the real one."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from alerts.delivery import policy
from alerts.delivery.pacing import Pacer


def most_in_any_window(moments: list[float], period: float) -> int:
    """Return the most moments that fall within any ``period`` (a provider's count)."""
    moments = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moment - moments[first] >= period:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_a_provider_limit_under_fifty_a_second_gets_evenly_spaced_turns():
    pacer = Pacer()
    window, spacing = pacer.rate("bot", 27.5)
    assert (window.limit, window.period) == (28, 1.0)
    granted = []
    for _ in range(6):
        await pacer.turn([window, spacing])  # never sent: the spacing alone holds them apart
        granted.append(time.monotonic())
    assert min(b - a for a, b in zip(granted, granted[1:], strict=False)) >= 1 / 27.5 - 0.002
    assert Pacer().rate("slow", 0.5)[0].period == 2.0  # one message per two seconds


async def test_a_gateway_taking_thousands_a_second_gets_twenty_ms_of_burst():
    pacer = Pacer()
    limits = pacer.rate("gateway", 5000.0)
    began = time.monotonic()
    for _ in range(100):
        (await pacer.turn(limits)).answered()
    assert time.monotonic() - began < 0.01  # a burst of 100, no wait


async def test_no_window_ever_counts_more_than_its_limit_however_the_requests_jitter():
    """16 senders share an account's window (Telegram's 28/s, sped up five times); each
    request reaches the provider a random moment after its turn (its start written, a
    busy loop, the network) and is answered a random moment after that. Counted where
    the provider counts, at the arrivals, no sliding window holds more: the window
    knows only turns and answers, and the arrival lies between them. Counted at the
    moment each request left (what the window did before), bunched arrivals broke it."""
    pacer, rng, arrived = Pacer(), random.Random(3), []
    window = pacer.window("bot", 28, 0.2)

    async def sender() -> None:
        for _ in range(20):
            turn = await pacer.turn([window])
            await asyncio.sleep(rng.choice([0, 0, 0, rng.uniform(0, 0.04)]))
            arrived.append(time.monotonic())
            await asyncio.sleep(rng.uniform(0, 0.004))
            turn.answered()

    began = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(16)))
    assert most_in_any_window(arrived, 0.2) <= 28
    assert time.monotonic() - began < 320 / 28 * 0.25 + 0.5  # and the limit is used


async def test_a_chat_gets_one_message_per_period_and_the_account_its_rate():
    pacer, left = Pacer(), {}
    chats = ["X" if n % 3 == 0 else f"chat {n}" for n in range(60)]

    async def sender() -> None:
        while chats:
            chat = chats.pop(0)
            windows = [pacer.window("bot", 560, 1.0), pacer.window(("bot", chat), 1, 0.05)]
            turn = await pacer.turn(windows)
            await asyncio.sleep(0.005)
            turn.answered()
            left.setdefault(chat, []).append(time.monotonic())

    await asyncio.gather(*(sender() for _ in range(16)))
    to_x = left["X"]
    assert len(to_x) == 20
    assert min(b - a for a, b in zip(to_x, to_x[1:], strict=False)) >= 0.05 - 0.001


async def test_a_hold_grants_no_turn_to_the_whole_account_until_it_ends():
    pacer = Pacer()
    bot = pacer.rate("bot", 1000.0)
    (await pacer.turn(bot)).answered()
    pacer.hold("bot", 0.3)  # a 429 said: retry after 0.3 s
    began = time.monotonic()
    others = [pacer.turn([*bot, pacer.window(("bot", n), 1, 1.0)]) for n in range(5)]
    turns = await asyncio.gather(*others)
    assert time.monotonic() - began >= 0.3 - 0.01
    assert len(turns) == 5


async def test_a_turn_given_back_frees_its_place():
    pacer = Pacer()
    window = pacer.window("chat", 1, 10.0)
    turn = await pacer.turn([window])
    turn.give_back()  # the attempt was cancelled before it left
    async with asyncio.timeout(0.1):
        await pacer.turn([window])


async def test_idle_windows_are_dropped_and_busy_ones_kept(monkeypatch):
    monkeypatch.setattr("alerts.delivery.pacing.PRUNE_AT", 102)
    pacer = Pacer()
    busy = await pacer.turn([pacer.window(("bot", "busy"), 1, 10.0)])
    busy.answered()  # counts for ten seconds
    for n in range(100):  # a hundred chats, each sent one message: idle 20 ms later
        (await pacer.turn([pacer.window(("bot", n), 1, 0.02)])).answered()
    await asyncio.sleep(0.03)
    pacer.window(("bot", "new"), 1, 1.0)  # the 102nd
    pacer.window(("bot", "newer"), 1, 1.0)  # the 103rd: the idle ones (and unused) go
    assert set(pacer.windows) == {("bot", "busy"), ("bot", "newer")}
    assert pacer.prune_at == 102


def test_the_worst_case_counts_every_attempt_ahead_on_the_channels_slots():
    sms = policy.POLICIES["sms"]  # 128 slots, 15 s deadline
    assert policy.worst_case_seconds(sms, 1) == 2 * 15.0
    assert policy.worst_case_seconds(sms, 128) == 2 * 15.0
    assert policy.worst_case_seconds(sms, 129) == 3 * 15.0
    assert policy.worst_case_seconds(sms, 1500) == 13 * 15.0


@pytest.mark.parametrize(
    ("setting", "rate"),
    [
        ("10", 10.0),
        ("0", 5000.0),
        ("-3", 5000.0),
        ("abc", 5000.0),
        ("99999", 5000.0),
        (None, 5000.0),
    ],
)
def test_an_account_may_lower_its_rate_but_nothing_else(setting, rate):
    settings = {} if setting is None else {"per_second": setting}
    assert policy.with_rate(policy.POLICIES["sms"], settings).per_second == rate
