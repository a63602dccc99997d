"""A warning to more residents than one chunk is queued region by region (m016, issue 13):
the first chunk in the approval's transaction, the rest by the worker, each chunk in a
short transaction of its own; a cancel, an update or the expiry stops what is left, and
the staff's progress counts what is still to queue. Chunk sizes are made small here so a
few subscribers span several chunks."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import progress
from alerts.delivery import worker
from alerts.delivery.engine import Dispatcher
from alerts.store import subscriptions as subscription_store
from alerts.store import warnings as store
from alerts.warnings import outbox
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.delivery_setup import add_accounts
from tests.delivery_setup import subscribe
from tests.delivery_setup import subscribe_many

# Five communes of Hà Nội with 3 SMS subscribers each, and 2 of the province itself.
COMMUNES = 5


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(outbox, "FIRST_CHUNK", 4)
    monkeypatch.setattr(outbox, "CHUNK", 5)


@pytest.fixture
def hanoi(db, fakes, small_chunks):
    add_accounts(db, CONFIG, fakes)
    communes = [
        r[0]
        for r in db.execute(
            "SELECT code FROM regions WHERE parent_code = '01' ORDER BY code LIMIT ?", [COMMUNES]
        )
    ]
    for i, code in enumerate(communes):
        subscribe_many(db, "sms", 3, code, first=10 * i)
    subscribe(db, "sms", "+84919999998", "01")
    subscribe(db, "sms", "+84910000000", "01")  # also subscribed in the first commune
    return communes


def province_warning(db, **changes) -> int:
    return approve(
        db, "hanoi.duyet", submitted(db, "hanoi.canbo", regions=["01"], channels=["sms"], **changes)
    ).id


def targets(db, alert_id: int, msg_type: str = "Alert") -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT target FROM deliveries WHERE warning_id = ? AND msg_type = ? ORDER BY id",
            [alert_id, msg_type],
        )
    ]


def statuses(db, alert_id: int) -> set[str]:
    rows = db.execute("SELECT status FROM deliveries WHERE warning_id = ?", [alert_id])
    return {row[0] for row in rows}


def fanout(db, alert_id: int) -> dict:
    row = db.execute(
        "SELECT status, expected, queued, regions_left FROM fanouts WHERE warning_id = ?",
        [alert_id],
    ).fetchone()
    return dict(zip(("status", "expected", "queued", "left"), row, strict=True)) if row else {}


def test_the_approval_queues_whole_regions_up_to_the_first_chunk_and_records_the_rest(db, hanoi):
    alert_id = province_warning(db)
    # Regions in code order: the first commune (3 subscribers), then the next would make
    # 6 > 4; the province's own ("01") sorts after its communes' codes.
    assert targets(db, alert_id) == ["+84910000000", "+84910000001", "+84910000002"]
    left = fanout(db, alert_id)
    assert left["status"] == "open" and left["expected"] == 17 and left["queued"] == 3
    assert [code for code, _n in json.loads(left["left"])] == [*hanoi[1:], "01"]
    entry = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'alert.publish' AND object = ?",
        [f"alert:{alert_id}"],
    ).fetchone()
    assert json.loads(entry[0])["deliveries"] == 17  # all it reaches, queued now or later
    counts = progress.progress(db, store.get_alert(db, alert_id))
    assert counts["totals"]["queued"] == 17 and counts["channels"]["sms"]["queued"] == 17
    assert not counts["done"]


def test_the_worker_queues_the_rest_chunk_by_chunk_each_address_once(db, hanoi):
    alert_id = province_warning(db)
    added = [outbox.top_up(db) for _ in range(3)]
    # Chunks of whole regions up to 5 subscribers: one commune (3) each ...
    assert added == [3, 3, 3]
    assert fanout(db, alert_id)["status"] == "open"
    # ... then the last commune with the province's own two (3 + 2): one of those, also
    # subscribed in the first commune, already has the warning.
    assert outbox.top_up(db) == 4
    assert fanout(db, alert_id)["status"] == "done" and outbox.top_up(db) == 0
    found = targets(db, alert_id)
    assert len(found) == len(set(found)) == 16
    counts = progress.progress(db, store.get_alert(db, alert_id))
    assert counts["totals"]["queued"] == 16  # no longer counted twice


def test_a_region_larger_than_a_chunk_is_queued_whole(db, hanoi, monkeypatch):
    monkeypatch.setattr(outbox, "FIRST_CHUNK", 1)
    monkeypatch.setattr(outbox, "CHUNK", 1)
    alert_id = province_warning(db)
    assert len(targets(db, alert_id)) == 3  # the first commune's 3, though the chunk is 1
    assert outbox.top_up(db) == 3


def test_a_cancel_stops_what_is_left_and_corrects_only_those_queued(db, hanoi):
    alert_id = province_warning(db)
    outbox.top_up(db)
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="Tin sai", config=CONFIG)
    assert fanout(db, alert_id)["status"] == "stopped"
    before = targets(db, alert_id)
    assert outbox.top_up(db) == 0 and targets(db, alert_id) == before
    assert statuses(db, alert_id) == {"cancelled"}  # nothing was sent: no Cancel message is owed
    assert targets(db, alert_id, "Cancel") == []
    counts = progress.progress(db, store.get_alert(db, alert_id))
    assert counts["totals"]["queued"] == 0


def test_a_top_up_that_raced_a_cancel_reads_the_fan_out_again(db, hanoi):
    """The worker lists the open fan-outs, then a cancel commits, then it writes: the chunk
    must not be queued (its rows would go out after the cancel)."""
    alert_id = province_warning(db)
    (fanout_id,) = db.execute("SELECT id FROM fanouts").fetchone()
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="Tin sai", config=CONFIG)
    with write(db):
        assert outbox._top_up_one(db, fanout_id, 100, to_text(utcnow())) == 0
    assert len(targets(db, alert_id)) == 3


def test_an_update_stops_the_fan_out_of_the_revision_it_replaces(db, hanoi):
    first = province_warning(db)
    acting = acting_as(db, "hanoi.canbo")
    second = workflow.start_update(db, acting, first, {"headline": "Cập nhật"}, config=CONFIG)
    workflow.submit(db, acting, second, config=CONFIG)
    approve(db, "hanoi.duyet", second)
    assert fanout(db, first)["status"] == "stopped"
    assert fanout(db, second)["status"] == "open"
    outbox.top_up(db, to_the_end=True)
    assert len(targets(db, first)) == 3 and len(targets(db, second, "Update")) == 16


def test_an_expired_warning_queues_nothing_more(db, hanoi):
    alert_id = province_warning(db)
    later = to_text(utcnow() + timedelta(days=400))
    assert outbox.top_up(db, now=later) == 0
    assert fanout(db, alert_id)["status"] == "stopped"


def test_the_rest_goes_to_who_is_subscribed_when_their_region_is_queued(db, hanoi):
    """A resident who stops before their commune's chunk gets nothing; one who joins gets
    it: the fan-out follows the subscriptions, not a copy of them."""
    alert_id = province_warning(db)
    last = hanoi[-1]
    leaving = db.execute(
        "SELECT id, address FROM subscriptions WHERE region_code = ? LIMIT 1", [last]
    ).fetchone()
    with write(db):
        subscription_store.disable_subscription(db, leaving[0], "unsubscribed")
    subscribe(db, "sms", "+84917777777", last)
    outbox.top_up(db, to_the_end=True)
    found = targets(db, alert_id)
    assert leaving[1] not in found and "+84917777777" in found


def test_the_worker_sends_a_large_fan_out_to_everyone_once(db, hanoi, fakes):
    alert_id = province_warning(db)
    engine = Dispatcher(CONFIG, rng=random.Random(7))
    try:
        worker.tick(db, {**CONFIG, "WORKER_LEASE_SECONDS": 60}, engine)
    finally:
        engine.close()
    phones = sorted(r.json["Phone"] for r in fakes.state.recorded("esms"))
    assert len(phones) == len(set(phones)) == 16
    assert statuses(db, alert_id) == {"sent"}
