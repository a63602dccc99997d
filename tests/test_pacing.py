"""Pacing and the worst case the engine sizes its leases by: arithmetic on a fake clock,
and one run of senders on the real one."""

from __future__ import annotations

import asyncio
import time

import pytest

from alerts.delivery import policy
from alerts.delivery.pacing import Bucket
from alerts.delivery.pacing import Pacer


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_provider_limit_under_fifty_a_second_gets_evenly_spaced_sends():
    clock = Clock()
    bucket = Bucket(29.0, clock=clock)
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(1 / 29)
    assert bucket.reserve() == pytest.approx(2 / 29)
    clock.now += 1.0  # a quiet second refills one token only: never a burst
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(1 / 29)


def test_a_gateway_taking_thousands_a_second_gets_twenty_ms_of_burst():
    bucket = Bucket(5000.0, clock=Clock())
    waits = [bucket.reserve() for _ in range(101)]
    assert waits[:100] == [0.0] * 100
    assert waits[100] == pytest.approx(1 / 5000)


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


async def test_two_messages_to_one_chat_never_leave_closer_than_the_chats_limit():
    """16 senders share an account and one busy chat (Telegram's limits, sped up twenty
    times): each waits for the chat's turn, then for the account's, yet the chat's
    messages leave at least a chat turn apart, counted from when each actually left."""
    pacer, left = Pacer(), {}
    waiting = ["X" if n % 3 == 0 else f"chat {n}" for n in range(60)]

    async def sender() -> None:
        while waiting:
            chat = waiting.pop(0)
            await pacer.wait("bot", 560.0, ("bot", chat), 19.0)
            left.setdefault(chat, []).append(time.monotonic())
            await asyncio.sleep(0.005)  # the request

    await asyncio.gather(*(sender() for _ in range(16)))
    to_x = left["X"]
    assert len(to_x) == 20
    assert min(b - a for a, b in zip(to_x, to_x[1:], strict=False)) >= 1 / 19.0 - 0.001


async def test_idle_chats_buckets_are_dropped_and_busy_ones_kept(monkeypatch):
    monkeypatch.setattr("alerts.delivery.pacing.PRUNE_AT", 102)
    pacer = Pacer()
    await pacer.wait("bot", 10_000.0, ("bot", "busy"), 1.0)  # its next turn is a second away
    for n in range(100):  # a hundred chats, each sent one message: idle a turn later
        await pacer.wait("bot", 10_000.0, ("bot", n), 200.0)
    await asyncio.sleep(0.02)  # four turns of 200/s: those chats' buckets are full again
    await pacer.wait("bot", 10_000.0, ("bot", "new"), 1.0)  # the 103rd: the idle ones go
    assert set(pacer.chats) == {("bot", "busy"), ("bot", "new")}
    assert set(pacer.buckets) == {"bot", ("bot", "busy"), ("bot", "new")}
    assert pacer.prune_at == 102
