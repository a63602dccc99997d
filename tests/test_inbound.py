"""The inbound core: /hooks/<channel>/<account> checks, stores once and answers; the worker
applies each stored event once; residents' data in the inbox is sealed, then forgotten.
Exercised through Telegram's receiver (the simplest proof of origin) over the real app and
database; each channel's own tests cover its signatures and events."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import channel_accounts as accounts
from alerts.delivery import inbox
from alerts.inbound import MAX_BODY
from alerts.security import vault
from alerts.store import inbound as inbound_store
from alerts.store import receipts as receipt_store
from tests.builders import CONFIG
from tests.builders import published
from tests.conftest import make_app
from tests.conftest import sign_in
from tests.delivery_setup import OPERATOR
from tests.delivery_setup import subscribe

SECRET = "tg-webhook-secret_0123456789"
CHAT = "5342000001"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@pytest.fixture
def app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def account(db):
    return accounts.create_account(
        db,
        CONFIG,
        OPERATOR,
        unit_code="ca-01",
        channel="telegram",
        name="bot",
        base_url="http://127.0.0.1:9/telegram",
        settings={"chat_id": "@canhbao"},
        secrets={"bot_token": "123:abc", "webhook_secret": SECRET},
    )


def blocked(update_id: int, chat: str = CHAT, status: str = "kicked") -> dict:
    """A private chat's my_chat_member update (channels-inbound.md §3.6)."""
    bot = {"id": 7172000001, "is_bot": True, "first_name": "CanhBao"}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": int(chat), "type": "private", "first_name": "Lan"},
            "from": {"id": int(chat), "is_bot": False, "first_name": "Lan"},
            "date": 1767229200,
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": status, "until_date": 0, "user": bot},
        },
    }


def post(client, account_id, update, headers=HEADERS, path=""):
    return client.post(
        f"/hooks/telegram/{account_id}{path}",
        data=json.dumps(update),
        headers={**headers, "Content-Type": "application/json"},
    )


def statuses(db, table="inbound_events"):
    return db.execute(f"SELECT status, COUNT(*) FROM {table} GROUP BY status").fetchall()


def refusals(db):
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'").fetchall()
    return [json.loads(r[0])["reason"] for r in rows]


def test_a_block_pauses_that_chat_on_telegram_only_and_cancels_what_was_queued(client, db, account):
    telegram_ids = [subscribe(db, "telegram", CHAT, code) for code in ("00070", "01")]
    sms = subscribe(db, "sms", "+84912345678", "00070")
    other = subscribe(db, "telegram", "5342000002", "00070")
    published(db, channels=["telegram"])  # queues one delivery per subscriber
    targets = "SELECT target, status FROM deliveries WHERE target != 'broadcast'"
    assert dict(db.execute(targets)) == {CHAT: "queued", "5342000002": "queued"}
    answer = post(client, account, blocked(834001130))
    assert answer.status_code == 200
    assert statuses(db) == [("new", 1)]
    assert inbox.apply_waiting(db, CONFIG) == 1
    rows = dict(
        db.execute("SELECT id, status || ':' || COALESCE(paused_reason, '') FROM subscriptions")
    )
    assert [rows[i] for i in telegram_ids] == ["disabled:blocked the bot"] * 2
    assert rows[sms] == "active:" and rows[other] == "active:"
    entry = db.execute(
        "SELECT actor, detail FROM audit_log WHERE action = 'subscription.paused'"
    ).fetchone()
    assert entry[0] == "telegram-platform" and CHAT not in entry[1]
    assert statuses(db) == [("done", 1)]
    assert dict(db.execute(targets)) == {CHAT: "cancelled", "5342000002": "queued"}


def test_a_redelivered_update_changes_nothing_more(client, db, account):
    subscribe(db, "telegram", CHAT, "00070")
    for _ in range(3):
        assert post(client, account, blocked(834001131)).status_code == 200
    assert statuses(db) == [("new", 1)]
    inbox.apply_waiting(db, CONFIG)
    assert post(client, account, blocked(834001131)).status_code == 200
    assert inbox.apply_waiting(db, CONFIG) == 0
    assert db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'subscription.paused'"
    ).fetchone() == (1,)


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({}, "wrong or missing secret token"),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}, "wrong or missing secret token"),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}, "wrong or missing secret token"),
    ],
)
def test_a_forged_call_is_refused_audited_and_stores_nothing(client, db, account, headers, reason):
    subscribe(db, "telegram", CHAT, "00070")
    answer = post(client, account, blocked(834001132), headers=headers)
    assert answer.status_code == 401
    assert statuses(db) == [] and refusals(db) == [reason]
    inbox.apply_waiting(db, CONFIG)
    assert db.execute("SELECT status FROM subscriptions").fetchone() == ("active",)


def test_unknown_accounts_wrong_channels_and_inactive_accounts_are_not_found(client, db, account):
    assert post(client, 999, blocked(1)).status_code == 404
    assert client.post(f"/hooks/zalo/{account}", data=b"{}").status_code == 404
    assert client.post(f"/hooks/nosuch/{account}", data=b"{}").status_code == 404
    db.execute("UPDATE channel_accounts SET active = 0")
    assert post(client, account, blocked(2)).status_code == 404
    assert statuses(db) == [] and refusals(db) == ["no such account"] * 4


def test_malformed_and_oversized_calls_get_a_clear_refusal(client, db, account):
    bad = client.post(f"/hooks/telegram/{account}", data=b"{not json", headers=HEADERS)
    assert bad.status_code == 400
    no_id = post(client, account, {"message": {"text": "hi"}})
    assert no_id.status_code == 400
    huge = client.post(f"/hooks/telegram/{account}", data=b"x" * (MAX_BODY + 1), headers=HEADERS)
    assert huge.status_code == 413
    get = client.get(f"/hooks/telegram/{account}", headers=HEADERS)
    assert get.status_code == 405
    assert statuses(db) == []


def test_what_a_resident_sent_is_sealed_then_forgotten(client, db, account, db_path):
    text = {
        "update_id": 834001140,
        "message": {
            "message_id": 9,
            "date": 1767225600,
            "from": {"id": int(CHAT), "is_bot": False},
            "chat": {"id": int(CHAT), "type": "private"},
            "text": "Số 0987 654 321 lừa đảo",
        },
    }
    assert post(client, account, text).status_code == 200
    sealed = db.execute("SELECT sealed FROM inbound_events").fetchone()[0]
    assert b"0987" not in sealed and CHAT.encode() not in sealed
    opened = vault.unseal(CONFIG, sealed)
    assert opened["sender"] == CHAT and opened["data"]["text"] == "Số 0987 654 321 lừa đảo"
    assert "0987 654 321" in opened["raw"]
    inbox.apply_waiting(db, {**CONFIG, "SECRET_KEY": "test-secret"})  # a chat is answered
    later = utcnow() + inbox.BODY_KEPT + timedelta(minutes=1)
    assert inbox.forget_old(db, later) == (1, 0)
    assert db.execute("SELECT sealed, event_key FROM inbound_events").fetchone() == (
        None,
        "834001140",
    )
    assert post(client, account, text).status_code == 200  # still recognised
    assert statuses(db) == [("done", 1)]
    assert inbox.forget_old(db, utcnow() + inbox.KEYS_KEPT + timedelta(minutes=1)) == (0, 1)


def test_an_event_that_cannot_apply_is_set_aside_and_the_rest_go_on(client, db, account):
    bad = vault.seal(CONFIG, {"sender": None, "data": {"state": "exploded"}, "raw": ""})
    with write(db):
        inbound_store.insert(db, "telegram", account, [("r1", "receipt", bad)], to_text(utcnow()))
    subscribe(db, "telegram", CHAT, "00070")
    post(client, account, blocked(834001150))
    assert inbox.apply_waiting(db, CONFIG) == 1
    outcomes = db.execute("SELECT event_key, status, outcome FROM inbound_events ORDER BY id")
    assert outcomes.fetchall() == [
        ("r1", "failed", "unknown receipt state 'exploded'"),
        ("834001150", "done", "paused 1"),
    ]


def test_a_receipt_only_moves_forward_and_only_on_sent_deliveries(db, account):
    subscribe(db, "telegram", CHAT, "00070")
    published(db, channels=["telegram"])
    row = db.execute("SELECT id FROM deliveries WHERE target = ?", [CHAT]).fetchone()[0]

    def receipt(state, provider_id="m-1"):
        with write(db):
            return receipt_store.record(
                db, account, state, to_text(utcnow()), "", provider_id=provider_id
            )

    assert receipt("delivered") == 0  # still queued: a receipt never reopens the engine's state
    db.execute("UPDATE deliveries SET status = 'sent', provider_id = 'm-1' WHERE id = ?", [row])
    assert receipt("delivered", "m-2") == 0
    assert [receipt(s) for s in ("delivered", "read", "delivered", "failed")] == [1, 1, 0, 0]
    got = db.execute(
        "SELECT status, receipt, history FROM deliveries WHERE id = ?", [row]
    ).fetchone()
    assert got[:2] == ("sent", "read")
    assert [e.get("receipt") for e in json.loads(got[2]) if "receipt" in e] == ["delivered", "read"]


def test_the_warning_page_counts_receipts_and_lists_what_the_provider_reported_failed(
    client, db, account
):
    for chat in ("5342000001", "5342000002", "5342000003"):
        subscribe(db, "telegram", chat, "00070")
    alert = published(db, channels=["telegram"])
    db.execute(
        "UPDATE deliveries SET status = 'sent', provider_id = 'm-' || target"
        " WHERE target != 'broadcast'"
    )
    with write(db):
        for chat, state in (("5342000001", "read"), ("5342000002", "delivered")):
            receipt_store.record(db, account, state, to_text(utcnow()), "", provider_id=f"m-{chat}")
        receipt_store.record(
            db, account, "failed", to_text(utcnow()), "13: unreachable", provider_id="m-5342000003"
        )
    sign_in(client, "hoankiem.canbo")
    counts = client.get(f"/admin/warnings/{alert.id}/progress.json").json["channels"]["telegram"]
    assert (counts["sent"], counts["delivered"], counts["read"], counts["reported_failed"]) == (
        3,
        1,
        1,
        1,
    )
    page = client.get(f"/admin/warnings/{alert.id}").get_data(as_text=True)
    listed = page[page.index('class="plain reported-failed"') :]
    assert "13: unreachable" in listed and "53***03" in listed and "5342000003" not in listed
