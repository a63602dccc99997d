"""The engine's lanes against the fake providers over real HTTP, in this process: one
account's trouble stays in its lane, a breaker that opens gives back what waits, a 429
holds the whole bot, and a cancel stops every attempt that has not started."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import replace

from alerts.delivery import policy
from alerts.delivery.engine import Dispatcher
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import acting_as
from tests.delivery_setup import add_accounts
from tests.delivery_setup import subscribe
from tests.fakes import hooks
from tests.test_delivery import FAST
from tests.test_delivery import by_channel
from tests.test_delivery import publish
from tests.test_delivery import rows
from tests.test_subscriptions import CONF
from tests.test_subscriptions import ask


def wait_for(condition, timeout: float = 20.0) -> float:
    """Wait until ``condition()`` holds; return the moment it did (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError("timed out waiting")


def test_a_breaker_that_opens_gives_back_what_waits_in_its_lane(db, fakes):
    """Telegram (no idempotency key: each start waits for the answers before it), one slot:
    five failures in a row open the breaker, and what waits goes back untouched."""
    add_accounts(db, CONFIG, fakes)
    for n in range(20):
        subscribe(db, "telegram", str(700_000_000 + n), "00070")
    alert_id = publish(db, channels=["telegram"])
    fakes.state.fail("telegram", count=30, kind="http", status=503)
    one_at_a_time = {**FAST, "telegram": replace(FAST["telegram"], concurrency=1)}
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=one_at_a_time)
    try:
        engine.dispatch_due(db, budget=5)
    finally:
        engine.close()
    found = rows(db, alert_id)
    tried = [r for r in found if r["attempts"]]
    # Five failures in a row open the breaker; the other sixteen never started: back in
    # the queue as they were, no attempt counted, not possible duplicates.
    assert len(tried) == policy.BREAKER_THRESHOLD
    assert len(fakes.state.recorded("telegram")) == policy.BREAKER_THRESHOLD
    untried = [r for r in found if not r["attempts"]]
    assert {r["status"] for r in untried} == {"queued"}, [
        (r["id"], r["status"]) for r in found if r["status"] != "queued"
    ]
    assert not any(r["possible_duplicate"] for r in untried)


def test_a_hung_provider_holds_only_its_own_lane(db, fakes):
    """The worker's engine keeps running between claims: while every webhook attempt
    hangs, a Telegram warning approved meanwhile goes out at once."""
    add_accounts(db, CONFIG, fakes)
    fakes.state.delays["hooks"] = 30.0  # accepts, never answers within the deadline
    for _ in range(3):
        publish(db, channels=["webhook"])
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=policy.POLICIES)
    try:
        engine.start(db)
        wait_for(lambda: len(fakes.state.recorded("hooks")) == 3)
        approved = time.monotonic()
        alert_id = publish(db, channels=["telegram"])
        arrived = wait_for(lambda: len(fakes.state.recorded("telegram")) == 1)
        assert arrived - approved < 3.0  # a claim within the half second, whatever hangs
        wait_for(lambda: by_channel(db, alert_id)["telegram"][0]["status"] == "sent")
    finally:
        engine.close()


def test_a_429_holds_the_whole_bot_for_the_time_it_says(db, fakes):
    add_accounts(db, CONFIG, fakes)
    for n in range(30):
        subscribe(db, "telegram", str(700_000_000 + n), "00070")
    fakes.state.fail("telegram", kind="429", retry_after=2)
    alert_id = publish(db, channels=["telegram"])
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=policy.POLICIES)
    try:
        engine.start(db)
        wait_for(lambda: Counter(r["status"] for r in rows(db, alert_id)) == {"sent": 31})
    finally:
        engine.close()
    arrivals = sorted(r.at for r in fakes.state.recorded("telegram"))
    refused = arrivals[0]  # the first request got the 429
    # What was already on the wire when the 429 came back may still arrive; nothing else
    # of the bot goes until the two seconds are over.
    during = [at for at in arrivals[1:] if refused + 0.2 < at < refused + 1.95]
    assert during == []
    assert len(arrivals) == 32  # 31 deliveries, the refused one twice


def test_a_cancel_stops_every_attempt_that_had_not_started(db, fakes):
    """Three warnings claimed at once by a webhook account paced to one every 2 s: the
    second and third wait their turn in the lane when the second is cancelled. It never
    goes out (its start is refused), and no Cancel follows it (it never arrived)."""
    ids = add_accounts(db, CONFIG, fakes)
    db.execute(
        "UPDATE channel_accounts SET settings = json_set(settings, '$.per_second', 0.5)"
        " WHERE id = ?",
        [ids["webhook"]],
    )
    first, second, third = (publish(db, channels=["webhook"]) for _ in range(3))
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=policy.POLICIES)
    try:
        engine.start(db)
        wait_for(lambda: rows(db, first)[0]["status"] == "sent")
        assert rows(db, second)[0]["status"] == "sending"  # claimed, waiting its turn
        assert rows(db, second)[0]["started_at"] is None
        workflow.cancel(db, acting_as(db, "hanoi.duyet"), second, reason="Tin sai", config=CONFIG)
        wait_for(lambda: rows(db, third)[0]["status"] == "sent", timeout=10)
    finally:
        engine.close()
    sent = [d["id"] for d in hooks.deliveries(fakes.state, "newsroom")]
    keys = {i: rows(db, i)[0]["idempotency_key"] for i in (first, second, third)}
    assert keys[second] not in sent and keys[first] in sent and keys[third] in sent
    assert [r["status"] for r in rows(db, second)] == ["cancelled"]  # and no Cancel queued


def test_claims_cancelled_while_their_lane_is_stuck_make_room_for_new_work(db, fakes):
    """An SMS account's lane holds three (one slot, three a second): the first attempt
    hangs, two wait behind it when their warning is cancelled (the Cancel to the first
    joins them). The next housekeeping drops the two from the lane, and the next warning's
    delivery is claimed into the room, long before the hung attempt's deadline."""
    ids = add_accounts(db, CONFIG, fakes)
    db.execute(
        "UPDATE channel_accounts SET settings = json_set(settings, '$.per_second', 3) WHERE id = ?",
        [ids["sms"]],
    )
    for n in range(4):
        subscribe(db, "sms", f"+8491234500{n}", "00070")
    fakes.state.delays["esms"] = 30.0
    earlier = publish(db, channels=["sms"])
    stuck = {**policy.POLICIES, "sms": replace(policy.POLICIES["sms"], concurrency=1)}
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=stuck)
    try:
        engine.start(db)
        wait_for(lambda: len(fakes.state.recorded("esms")) == 1)
        claimed = Counter(r["status"] for r in rows(db, earlier))
        assert claimed == {"sending": 3, "queued": 1}  # the lane is full
        workflow.cancel(db, acting_as(db, "hanoi.duyet"), earlier, reason="Tin sai", config=CONFIG)
        later = publish(db, channels=["sms"], headline="Cảnh báo thứ hai về cuộc gọi giả danh")
        began = time.monotonic()
        wait_for(lambda: any(r["status"] == "sending" for r in rows(db, later)), timeout=15)
        assert time.monotonic() - began < 8  # housekeeping every 5 s, not the 15 s deadline
    finally:
        engine.close()


def test_a_trickling_provider_ends_at_its_deadline_and_holds_up_nobody(db, fakes):
    """The Graph API sends its headers, then its body a byte a second: the attempt ends at
    its (here 1.5 s) deadline as a possible duplicate, while Telegram goes out at once."""
    add_accounts(db, CONFIG, fakes)
    fakes.state.set_mode("graph", "trickle", seconds=1.0)
    alert_id = publish(db, channels=["facebook", "telegram"])
    engine = Dispatcher(CONFIG, rng=random.Random(7), rules=FAST)
    try:
        began = time.monotonic()
        engine.start(db)
        wait_for(lambda: by_channel(db, alert_id)["telegram"][0]["status"] == "sent")
        assert time.monotonic() - began < 2.0
        tried = '"reaction":"unknown"'
        wait_for(lambda: tried in by_channel(db, alert_id)["facebook"][0]["history"], timeout=5)
        assert time.monotonic() - began < 5.0  # the deadline; the body alone lasts minutes
    finally:
        engine.close()
    post = by_channel(db, alert_id)["facebook"][0]
    assert post["status"] == "queued" and post["possible_duplicate"] == 1


def test_a_started_engine_ends_unconfirmed_requests_at_its_housekeeping(db, fakes, monkeypatch):
    monkeypatch.setattr("alerts.delivery.drain.HOUSEKEEPING_SECONDS", 0.2)
    add_accounts(db, CONFIG, fakes)
    ask(db)
    engine = Dispatcher(CONF, rng=random.Random(7), rules=FAST)
    try:
        engine.start(db)
        wait_for(lambda: fakes.state.recorded("esms"))  # the code went out
        db.execute("UPDATE subscriptions SET confirm_expires_at = '2000-01-01T00:00:00+00:00'")
        wait_for(lambda: not db.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0], 5)
    finally:
        engine.close()
