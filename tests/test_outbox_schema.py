"""Migration m012 rebuilds the outbox for cheaper inserts (issue 13: a province's million
deliveries queued at approval): every row, of every status, and every idempotency key as
the channels sent it survive; the CHECKs, rewritten, refuse what they refused."""

from __future__ import annotations

import sqlite3

import pytest

from alerts import migrations
from alerts import seed
from alerts.audit import Actor
from alerts.db import open_db
from alerts.db import write
from alerts.delivery import channel_accounts as accounts
from alerts.store import deliveries as delivery_store
from tests.builders import CONFIG
from tests.builders import submitted
from tests.delivery_setup import subscribe

M012 = "m012_outbox_lean_inserts"
# m006-m011's columns, with the key as the store functions wrote it.
_INSERT = (
    "INSERT INTO deliveries (warning_id, msg_type, channel, account_id, target,"
    " subscription_id, province_code, idempotency_key, priority, status, attempts,"
    " next_attempt_at, lease_expires_at, expires_at, possible_duplicate, provider_id,"
    " last_error, history, created_at, sent_at, started_at)"
    " VALUES (:w, :type, 'sms', :account, :target, :sub, '01',"
    " 'w' || :w || '-' || :type || '-sms-' || :account || '-' || :target,"
    " :priority, :status, :attempts, '2026-03-01T08:00:00+00:00', :lease,"
    " '2026-03-08T08:00:00+00:00', :dup, :provider, :error, :history,"
    " '2026-03-01T07:59:00+00:00', :sent, :started)"
)
# One row per state the outbox knows (and a broadcast, a Cancel, a possible duplicate).
_ROWS = [
    dict(status="queued", attempts=0),
    dict(status="queued", attempts=2, error="HTTP 503", dup=1, history='[{"reaction": "x"}]'),
    dict(status="sending", attempts=1, lease="2026-03-01T08:05:00+00:00"),
    dict(status="sending", attempts=1, lease="2026-03-01T08:05:00+00:00", started="now"),
    dict(status="sent", attempts=1, provider="esms-1", sent="2026-03-01T08:00:02+00:00"),
    dict(status="dead", attempts=5, error="HTTP 400 invalid number"),
    dict(status="cancelled", error="warning cancelled"),
    dict(status="sent", target="broadcast", sent="2026-03-01T08:00:03+00:00"),
    dict(status="queued", type="Cancel", priority=100, target="+84912345000"),
]


def _row(warning_id, account_id, subscription_id, i, **values) -> dict:
    row = dict(
        w=warning_id, type="Alert", account=account_id, target=f"+8491234500{i}",
        sub=subscription_id, priority=10, attempts=0, lease=None, dup=0,
        provider=None, error=None, history="[]", sent=None, started=None,
    )  # fmt: skip
    return {**row, **values}


@pytest.fixture
def old_db(tmp_path):
    """A database migrated up to m012 (not included), with the map and demo users."""
    db = open_db(tmp_path / "old.db")
    with write(db):
        migrations.migrations.apply(db, stop_before=M012)
    seed.load_reference_data(db)
    seed.seed_demo_users(db)
    yield db
    db.close()


def _fill(db) -> int:
    """Queue the old way: one row per entry of _ROWS, keys as m006's functions made them.
    Returns the warning's id."""
    warning_id = submitted(db)
    account_id = accounts.create_account(
        db, CONFIG, Actor("cli", "bca"), unit_code="ca-01", channel="sms", name="sms",
        base_url="http://127.0.0.1:9", settings={"brandname": "CONGAN"},
        secrets={"api_key": "k", "secret_key": "s"},
    )  # fmt: skip
    with write(db):
        for i, values in enumerate(_ROWS):
            own = "target" not in values  # the broadcast and the Cancel have none of their own
            subscription_id = subscribe(db, "sms", f"+8491234500{i}", "01") if own else None
            row = _row(warning_id, account_id, subscription_id, i, **values)
            if row["started"] == "now":
                row["started"] = "2026-03-01T08:00:01+00:00"
            db.execute(_INSERT, row)
    return warning_id


def _everything(db) -> list[dict]:
    cursor = db.execute("SELECT * FROM deliveries ORDER BY id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor]


def test_m012_keeps_every_delivery_and_its_key(old_db):
    warning_id = _fill(old_db)
    before = _everything(old_db)
    assert {r["status"] for r in before} == {"queued", "sending", "sent", "dead", "cancelled"}

    assert migrations.apply(old_db)[0] == M012  # later migrations follow it

    after = [{k: row[k] for k in before[0]} for row in _everything(old_db)]
    assert after == before
    first = before[0]
    assert first["idempotency_key"] == f"w{warning_id}-Alert-sms-{first['account_id']}-+84912345000"


def test_m012_repeated_enqueue_is_a_no_op_and_a_new_one_gets_its_key(old_db):
    warning_id = _fill(old_db)
    migrations.apply(old_db)
    account_id = old_db.execute("SELECT account_id FROM deliveries LIMIT 1").fetchone()[0]
    now, expires = "2026-03-01T09:00:00+00:00", "2026-03-08T08:00:00+00:00"
    args = (old_db, warning_id, "Alert", "sms", account_id, 10, now, expires, ["01"], False)
    with write(old_db):
        assert delivery_store.queue_residents(*args) == 0  # every subscriber has one already
        subscribe(old_db, "sms", "+84987654321", "01")
        assert delivery_store.queue_residents(*args) == 1
    (key,) = old_db.execute(
        "SELECT idempotency_key FROM deliveries WHERE target = '+84987654321'"
    ).fetchone()
    assert key == f"w{warning_id}-Alert-sms-{account_id}-+84987654321"


@pytest.mark.parametrize(
    "field, value, accepted",
    [
        ("status", "queued", True),
        ("status", "Queued", False),
        ("type", "Cancel", True),
        ("type", "Test", False),
    ],
)
def test_m012_checks_refuse_what_they_refused(old_db, field, value, accepted):
    warning_id = _fill(old_db)
    migrations.apply(old_db)
    row = _row(warning_id, 1, None, 9, **{"status": "queued", field: value})
    if accepted:
        old_db.execute(_INSERT, row)
        return
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        old_db.execute(_INSERT, row)


def test_queueing_a_delivery_builds_no_temporary_b_tree(db):
    """An IN list in a CHECK is built as a b-tree for every row inserted (m012's docstring):
    a province's million rows would pay it a million times."""
    ops = db.execute(
        "EXPLAIN INSERT INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " idempotency_key, status, next_attempt_at, expires_at, created_at)"
        " VALUES (1, 'Alert', 'sms', 1, 't', 'k', 'queued', 'now', 'later', 'now')"
    ).fetchall()
    assert "OpenEphemeral" not in [op[1] for op in ops]
