"""Pacing and the worst case the engine sizes its leases by: pure arithmetic, no clock."""

from __future__ import annotations

import pytest

from alerts.delivery import policy
from alerts.delivery.pacing import Bucket


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
