"""The counts a warning's page shows are kept by the deliveries' triggers (m021, issue 17):
after every step of a chunked fan-out (first chunk, top-ups, sends, retries, a dead letter
and its replay, receipts, a cancel and its Cancels) they equal a full aggregate of the
delivery rows, and ``progress`` reads them, not the rows."""

from __future__ import annotations

import random
import re

import pytest

from alerts import migrations
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import progress
from alerts.delivery.engine import Dispatcher
from alerts.store import delivery_counts
from alerts.store import receipts as receipt_store
from alerts.store import warnings as store
from alerts.warnings import outbox
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.delivery_setup import add_accounts
from tests.delivery_setup import running_fakes
from tests.delivery_setup import subscribe_many

_SHOWN = "CASE WHEN status = 'queued' AND attempts > 0 THEN 'failed' ELSE status END"


@pytest.fixture
def fakes():
    with running_fakes() as started:
        yield started


@pytest.fixture
def dispatcher():
    engine = Dispatcher(CONFIG, rng=random.Random(3))
    yield engine
    engine.close()


@pytest.fixture
def hanoi(db, fakes, monkeypatch):
    """Four communes of Hà Nội with 3 SMS and 2 Telegram subscribers each; chunks small
    enough that the worker queues most of the fan-out."""
    monkeypatch.setattr(outbox, "FIRST_CHUNK", 5)
    monkeypatch.setattr(outbox, "CHUNK", 6)
    add_accounts(db, CONFIG, fakes)
    communes = db.execute(
        "SELECT code FROM regions WHERE parent_code = '01' ORDER BY code LIMIT 4"
    ).fetchall()
    for i, (code,) in enumerate(communes):
        subscribe_many(db, "sms", 3, code, first=10 * i)
        subscribe_many(db, "telegram", 2, code, first=10 * i)


def aggregate(db, alert_id: int) -> tuple[list, list]:
    """The counts as grouping every delivery row gives them (what m021 replaced)."""
    states = db.execute(
        f"SELECT msg_type, channel, COALESCE(province_code, ''), {_SHOWN}, COUNT(*)"
        " FROM deliveries WHERE warning_id = ? GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        [alert_id],
    ).fetchall()
    receipts = db.execute(
        "SELECT warning_id, channel, receipt, COUNT(*) FROM deliveries"
        " WHERE warning_id = ? AND receipt IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        [alert_id],
    ).fetchall()
    return states, receipts


def kept(db, alert_id: int) -> tuple[list, list]:
    states = sorted(tuple(r.values()) for r in delivery_counts.by_state(db, [alert_id]))
    receipts = sorted((*key, n) for key, n in delivery_counts.by_receipt(db, [alert_id]).items())
    return states, receipts


def assert_counts_match(db, alert_id: int) -> dict:
    assert kept(db, alert_id) == aggregate(db, alert_id)
    return progress.progress(db, store.get_alert(db, alert_id))


def shown(db, alert_id: int, channel: str) -> dict:
    """The channel's counts that are not zero, as progress.json gives them."""
    counts = progress.progress(db, store.get_alert(db, alert_id))["channels"][channel]
    return {state: n for state, n in counts.items() if n}


def sent_sms(db, alert_id: int) -> list[tuple[int, int]]:
    return db.execute(
        "SELECT id, account_id FROM deliveries WHERE warning_id = ? AND channel = 'sms'"
        " AND status = 'sent' ORDER BY id",
        [alert_id],
    ).fetchall()


def test_counts_equal_a_full_aggregate_through_fan_out_retries_receipts_and_cancel(
    db, hanoi, fakes, dispatcher
):
    alert_id = approve(
        db,
        "hanoi.duyet",
        submitted(db, "hanoi.canbo", regions=["01"], channels=["sms", "telegram"]),
    ).id
    first = assert_counts_match(db, alert_id)
    assert first["totals"]["queued"] == 21  # 20 residents + the bot's channel post
    outbox.top_up(db)
    assert_counts_match(db, alert_id)

    fakes.state.fail("esms", count=2, kind="http", status=500)  # two SMS retry later
    fakes.state.fail("telegram", 2, kind="error", status=400, description="Bad Request: chat")
    dispatcher.dispatch_due(db)
    middle = assert_counts_match(db, alert_id)
    assert middle["totals"]["failed"] == 2 and middle["totals"]["dead"] == 2

    listed = progress.dead_letters(db, store.get_alert(db, alert_id))
    chats = [d["target"] for d in listed if d["target"] != "broadcast"]
    assert len(chats) == 1 and re.fullmatch(r"70\*\*\*\d\d", chats[0])  # masked
    dead = listed[0]["id"]
    progress.replay(db, acting_as(db, "hanoi.duyet"), dead)
    while outbox.top_up(db):
        assert_counts_match(db, alert_id)
    dispatcher.dispatch_due(db)
    assert_counts_match(db, alert_id)

    (a, account), (b, _), (c, _), *_ = sent_sms(db, alert_id)
    with write(db):
        for delivery, state in ((a, "delivered"), (a, "read"), (b, "delivered"), (c, "failed")):
            receipt_store.record(db, account, state, to_text(utcnow()), "", delivery_id=delivery)
    assert_counts_match(db, alert_id)
    assert {k: v for k, v in shown(db, alert_id, "sms").items() if k != "sent"} == {
        "read": 1,
        "delivered": 1,
        "reported_failed": 1,
        "failed": 2,  # the two that failed wait for their retry
    }

    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="Tin sai", config=CONFIG)
    cancelled = assert_counts_match(db, alert_id)
    assert cancelled["totals"]["cancelled"] + cancelled["totals"]["sent"] > 0
    dispatcher.dispatch_due(db)
    final = assert_counts_match(db, alert_id)
    assert final["totals"]["cancelled"] == 2  # the two retries waiting when it came
    rows = db.execute("SELECT COUNT(*) FROM deliveries WHERE warning_id = ?", [alert_id])
    states = ("queued", "sending", "sent", "failed", "dead", "cancelled")
    assert sum(final["totals"][s] for s in states) == rows.fetchone()[0]


def test_the_migration_counts_the_deliveries_already_there(db, hanoi):
    alert_id = approve(
        db,
        "hanoi.duyet",
        submitted(db, "hanoi.canbo", regions=["01"], channels=["sms", "telegram"]),
    ).id
    outbox.top_up(db)
    db.execute("UPDATE deliveries SET attempts = 1 WHERE id % 3 = 0")
    expected = aggregate(db, alert_id)
    with write(db):
        for name in ("delivery_counts", "receipt_counts"):
            db.execute(f"DROP TABLE {name}")
        for name in ("insert", "delete", "update"):
            db.execute(f"DROP TRIGGER deliveries_counted_{name}")
        made = db.execute(  # the migration's indexes (the portal's too)
            "SELECT name FROM sqlite_master WHERE type = 'index' AND (name LIKE 'warnings_live%'"
            " OR name IN ('warnings_superseded', 'deliveries_reported_failed'))"
        ).fetchall()
        assert len(made) == 6
        for (name,) in made:
            db.execute(f"DROP INDEX {name}")
        db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm021_delivery_counts'")
    assert migrations.apply(db) == ["m021_delivery_counts"]
    assert kept(db, alert_id) == expected
    db.execute("DELETE FROM deliveries WHERE warning_id = ? AND msg_type = 'Alert'", [alert_id])
    assert kept(db, alert_id) == ([], [])
