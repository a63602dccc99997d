"""The Zalo OA calling back, over loopback: the fake OA signs its webhook events as Zalo does
and POSTs them to the app served over HTTP; our endpoint answers at once, the worker's inbox
then subscribes a follower who names their commune (after "CO"), pauses an unfollower on Zalo
only, files a report told in the chat, and moves deliveries to delivered and read from the
receipts the fake OA sends for the messages it accepted. What the OA was asked to send back
is read from the fake."""

from __future__ import annotations

import json
import random
import time

import httpx
import pytest

from alerts.delivery import inbox
from alerts.delivery.engine import Dispatcher
from alerts.residents import chat_replies
from tests.builders import CONFIG
from tests.builders import published
from tests.chat_setup import CONF
from tests.chat_setup import FAST
from tests.chat_setup import SECRET
from tests.chat_setup import chat_account
from tests.chat_setup import events
from tests.chat_setup import one
from tests.conftest import make_app
from tests.delivery_setup import subscribe
from tests.fakes import zalo

USER = "2468458835200000001"
OTHER = "2468458835200000002"


@pytest.fixture
def app(db_path):
    return make_app(db_path, SECRET_KEY=SECRET, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def dispatcher():
    engine = Dispatcher(CONF, rng=random.Random(7), rules=FAST)
    yield engine
    engine.close()


@pytest.fixture
def oa(db, fakes, live_server):
    """The Zalo account on the fake OA with its OA id and OA secret key; the webhook
    registered with the fake, so it sends receipts there."""
    secrets = {"oa_secret_key": zalo.OA_SECRET}
    account_id = chat_account(db, fakes, "zalo", {"oa_id": zalo.OA_ID}, secrets)
    url = f"{live_server}/hooks/zalo/{account_id}"
    register = {"url": url, "receipts": "seen"}
    httpx.post(f"{fakes.url}/zalo/_control/webhook", json=register).raise_for_status()
    return {"id": account_id, "url": url, "fakes": fakes.url}


def emit(oa, event: str, user: str = USER, **options) -> dict:
    """The fake OA sends one event to our webhook; what our endpoint answered."""
    body = {"event": event, "user_id": user, **options}
    return httpx.post(f"{oa['fakes']}/zalo/_control/event", json=body, timeout=10).json()


def say(oa, text: str, user: str = USER, **options) -> dict:
    return emit(oa, "user_send_text", user, text=text, **options)


def refusals(db) -> list[str]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'").fetchall()
    return [json.loads(r[0])["reason"] for r in rows]


def answers(fakes, user: str = USER) -> list[str]:
    """What the OA was asked to send to the user, oldest first."""
    account = zalo.oa(fakes.state)
    with account.lock:
        return [m["text"] for m in account.messages if m["user_id"] == user]


def subscriptions(db) -> list[tuple]:
    return db.execute(
        "SELECT channel, address, region_code, status FROM subscriptions ORDER BY id"
    ).fetchall()


def wait_for(predicate, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_a_follower_names_the_commune_confirms_and_is_subscribed(db, oa, fakes, dispatcher):
    followed = emit(oa, "follow")
    assert followed["status"] == 200 and followed["elapsed"] < 2.0  # Zalo's limit
    asked = say(oa, "phuong hoan kiem")
    assert asked["status"] == 200 and asked["elapsed"] < 2.0
    assert [e[1:] for e in events(db)] == [("resumed", "new"), ("message", "new")]
    assert subscriptions(db) == []  # nothing happens in the request: the worker applies
    assert inbox.apply_waiting(db, CONF) == 2
    assert subscriptions(db) == [("zalo", USER, "00070", "pending")]
    dispatcher.dispatch_due(db)
    assert len(answers(fakes)) == 2
    assert "BAO TIN" in one(answers(fakes), "gửi tên hoặc mã xã, phường")
    assert "CO để xác nhận" in one(answers(fakes), "Phường Hoàn Kiếm (00070)")
    say(oa, "Có")
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db) == [("zalo", USER, "00070", "active")]
    dispatcher.dispatch_due(db)
    welcome = answers(fakes)[-1]
    assert "Đã đăng ký" in welcome and "Phường Hoàn Kiếm" in welcome and "HUY" in welcome
    audit = json.dumps(db.execute("SELECT * FROM audit_log").fetchall(), ensure_ascii=False)
    assert USER not in audit and "24***01" in audit


def test_a_name_of_several_communes_lists_them_and_co_alone_confirms_nothing(
    db, oa, fakes, dispatcher
):
    say(oa, "Tan Hoa")
    say(oa, "co", user=OTHER)  # another follower has nothing to confirm
    inbox.apply_waiting(db, CONF)
    dispatcher.dispatch_due(db)
    (listed,) = answers(fakes)
    assert "04792 Phường Tân Hòa" in listed and "25531 Xã Tân Hòa" in listed
    assert "gửi tên hoặc mã" in answers(fakes, OTHER)[0]
    assert subscriptions(db) == []


def test_forged_foreign_and_stale_events_are_refused_and_change_nothing(db, oa):
    subscribe(db, "zalo", USER, "00070")
    old = str(int((time.time() - 4 * 3600) * 1000))
    assert emit(oa, "unfollow", wrong_mac=True)["status"] == 401
    assert emit(oa, "unfollow", tamper=True)["status"] == 401
    assert emit(oa, "unfollow", app_id="another-app")["status"] == 403
    assert emit(oa, "unfollow", oa_id="1111111111111111111")["status"] == 403
    assert emit(oa, "unfollow", timestamp=old)["status"] == 403
    unsigned = httpx.post(oa["url"], json={"event_name": "unfollow", "timestamp": "1"})
    assert unsigned.status_code == 401
    assert events(db) == []
    assert refusals(db) == [
        "wrong Zalo signature",
        "wrong Zalo signature",
        "Zalo event for another app",
        "Zalo event for another OA",
        "stale Zalo event",
        "missing or malformed Zalo signature",
    ]
    assert subscriptions(db) == [("zalo", USER, "00070", "active")]


def test_an_event_signed_for_our_secret_but_another_app_id_is_refused(db, oa):
    """A valid signature computed with a foreign app id in the body and in the mac."""
    event = zalo.make_event("unfollow", USER, app_id="another-app")
    raw = json.dumps(event).encode()
    mac = zalo.sign(raw, event["timestamp"], app_id="another-app")
    answer = httpx.post(oa["url"], content=raw, headers={"X-ZEvent-Signature": mac})
    assert answer.status_code == 401  # our app id is in the mac we compute
    assert events(db) == []


def test_a_retried_event_is_stored_and_applied_once(db, oa, fakes, dispatcher):
    first = say(oa, "hoan kiem", msg_id="9f1c2e3d4b5a69788796", timestamp="1767225600123")
    assert first["status"] == 403  # that timestamp is long past: refused as stale
    stamp = str(int(time.time() * 1000))
    for retry in (None, 1, 2):
        again = say(
            oa, "hoan kiem", msg_id="9f1c2e3d4b5a69788796", timestamp=stamp, num_retry=retry
        )
        assert again["status"] == 200
    assert events(db) == [("9f1c2e3d4b5a69788796", "message", "new")]
    assert inbox.apply_waiting(db, CONF) == 1
    dispatcher.dispatch_due(db)
    assert len(answers(fakes)) == 1


def test_receipts_move_a_sent_message_to_delivered_then_read(db, oa, fakes, dispatcher):
    subscribe(db, "zalo", USER, "00070")
    published(db, channels=["zalo"])
    dispatcher.dispatch_due(db)
    delivery_id, provider_id = db.execute(
        "SELECT id, provider_id FROM deliveries WHERE target = ? AND status = 'sent'", [USER]
    ).fetchone()
    account = zalo.oa(fakes.state)
    wait_for(lambda: len(account.callbacks) == 2)
    assert account.callbacks == [("user_received_message", 200), ("user_seen_message", 200)]
    assert events(db) == [
        (f"delivered:{provider_id}", "receipt", "new"),
        (f"read:{provider_id}", "receipt", "new"),
    ]
    assert inbox.apply_waiting(db, CONF) == 2
    row = db.execute(
        "SELECT status, receipt, receipt_detail FROM deliveries WHERE id = ?", [delivery_id]
    ).fetchone()
    assert row == ("sent", "read", "Zalo: seen")
    history = json.loads(
        db.execute("SELECT history FROM deliveries WHERE id = ?", [delivery_id]).fetchone()[0]
    )
    assert [e["receipt"] for e in history if "receipt" in e] == ["delivered", "read"]


def test_unfollow_pauses_that_follower_on_zalo_only(db, oa):
    subscribe(db, "zalo", USER, "00070")
    subscribe(db, "zalo", OTHER, "00070")
    subscribe(db, "sms", "+84912345678", "00070")
    assert emit(oa, "unfollow")["status"] == 200
    inbox.apply_waiting(db, CONF)
    assert subscriptions(db) == [
        ("zalo", USER, "00070", "disabled"),
        ("zalo", OTHER, "00070", "active"),
        ("sms", "+84912345678", "00070", "active"),
    ]
    reason = db.execute("SELECT paused_reason FROM subscriptions WHERE address = ?", [USER])
    assert reason.fetchone() == ("unfollowed the OA",)


def test_huy_stops_the_follower_on_zalo(db, oa, fakes, dispatcher):
    subscribe(db, "zalo", USER, "00070")
    subscribe(db, "zalo", USER, "01")
    say(oa, "HỦY")
    inbox.apply_waiting(db, CONF)
    assert [s[3] for s in subscriptions(db)] == ["unsubscribed", "unsubscribed"]
    dispatcher.dispatch_due(db)
    assert "Đã ngừng gửi" in answers(fakes)[-1]


def test_a_report_told_in_the_chat_is_filed_with_the_commune_police(db, oa, fakes, dispatcher):
    story = (
        "BAO TIN so 0912 345 678 goi dien tu xung cong an, bat chuyen tien va vao"
        " http://bocongan-gov.top/xac-minh de khai bao"
    )
    assert say(oa, story)["status"] == 200
    inbox.apply_waiting(db, CONF)
    assert db.execute("SELECT COUNT(*) FROM reports").fetchone() == (0,)
    say(oa, "hoan kiem")
    inbox.apply_waiting(db, CONF)
    code, kind, region, unit, channel, text = db.execute(
        "SELECT r.code, r.kind, r.region_code, u.code, r.channel, r.text"
        " FROM reports r JOIN units u ON u.id = r.unit_id"
    ).fetchone()
    assert (kind, region, unit, channel) == ("scam_call", "00070", "ca-00070", "zalo")
    assert text.startswith("so 0912 345 678")
    found = db.execute("SELECT kind, key FROM report_indicators ORDER BY kind").fetchall()
    assert found == [("link", "bocongan-gov.top"), ("phone", "+84912345678")]
    dispatcher.dispatch_due(db)
    assert len(answers(fakes)) == 2 and one(answers(fakes), "xã, phường nào")
    filed = one(answers(fakes), code)
    assert code in filed and "Công an phường Hoàn Kiếm" in filed
    assert "bocongan-gov" not in filed  # nothing the resident wrote is said back
    assert db.execute("SELECT COUNT(*) FROM chat_conversations").fetchone() == (0,)
    audit = json.dumps(db.execute("SELECT * FROM audit_log").fetchall(), ensure_ascii=False)
    assert "0912 345 678" not in audit and USER not in audit


def test_a_chat_gets_at_most_its_hourly_answers_and_still_acts(db, oa):
    for n in range(chat_replies.PER_HOUR + 2):
        say(oa, f"xin chao {n}")
    say(oa, "HUY")
    assert inbox.apply_waiting(db, CONF) == chat_replies.PER_HOUR + 3
    notices = db.execute("SELECT COUNT(*) FROM notices WHERE target = ?", [USER]).fetchone()
    assert notices == (chat_replies.PER_HOUR,)
    outcomes = db.execute("SELECT outcome FROM inbound_events ORDER BY id").fetchall()
    assert outcomes[-1] == ("stopped 0",)
