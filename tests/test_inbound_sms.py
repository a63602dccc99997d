"""eSMS calling back, over loopback: the fake gateway reports to the CallbackUrl our sender
gave it and forwards residents' keyword SMS, signed, to the app served over HTTP; the worker's
inbox then moves deliveries, subscribes with DK after DK OK, stops with HUY, and answers
through the gateway (the replies the fake receives are checked)."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace

import httpx
import pytest

from alerts.delivery import inbox
from alerts.delivery import policy
from alerts.delivery.engine import Dispatcher
from alerts.inbound import MAX_BODY
from alerts.security import vault
from alerts.store import accounts as account_store
from tests.builders import CONFIG
from tests.builders import published
from tests.conftest import make_app
from tests.delivery_setup import add_accounts
from tests.delivery_setup import subscribe
from tests.fakes import esms

SECRET = "test-secret"
CONF = {**CONFIG, "SECRET_KEY": SECRET, "CONFIRMATIONS_PER_DESTINATION": 3}
FAST = {c: replace(p, deadline=1.5) for c, p in policy.POLICIES.items()}
TOKEN = "cb-token_0123456789abcdefghij"
PHONE, SENDER = "+84912345678", "84912345678"


@pytest.fixture
def app(db_path):
    return make_app(db_path, SECRET_KEY=SECRET, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def sms(db, fakes, live_server):
    """The SMS account on the fake gateway, its CallbackUrl and MO key set; its hook URL."""
    account_id = add_accounts(db, CONFIG, fakes)["sms"]
    hook = f"{live_server}/hooks/sms/{account_id}"
    stored = account_store.get_account(db, account_id)
    settings = {**stored.settings, "callback_url": hook, "cpid": esms.CPID}
    db.execute(
        "UPDATE channel_accounts SET settings = ? WHERE id = ?", [json.dumps(settings), account_id]
    )
    secrets = {**vault.unseal(CONFIG, stored.secrets), "callback_token": TOKEN}
    secrets["mo_private_key"] = esms.PRIVATE_KEY
    account_store.set_secrets(db, account_id, vault.seal(CONFIG, secrets))
    return {"id": account_id, "hook": hook, "url": f"{hook}/{TOKEN}", "fakes": fakes.url}


@pytest.fixture
def dispatcher():
    engine = Dispatcher(CONF, rng=random.Random(7), rules=FAST)
    yield engine
    engine.close()


def events(db) -> list[tuple]:
    return db.execute("SELECT event_key, kind, status FROM inbound_events ORDER BY id").fetchall()


def refusals(db) -> list[str]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'").fetchall()
    return [json.loads(r[0])["reason"] for r in rows]


def wait_for(predicate, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def sent_delivery(db, dispatcher) -> dict:
    """Publish an SMS warning to the subscriber and send it through the fake gateway."""
    published(db, channels=["sms"])
    dispatcher.dispatch_due(db)
    row = db.execute(
        "SELECT id, status, provider_id FROM deliveries WHERE target = ?", [PHONE]
    ).fetchone()
    assert row[1] == "sent" and row[2]
    return {"id": row[0], "sms_id": row[2]}


def receipt(db, delivery_id: int) -> tuple:
    return db.execute(
        "SELECT status, receipt, receipt_detail FROM deliveries WHERE id = ?", [delivery_id]
    ).fetchone()


def mo(sms, content: str, **options) -> dict:
    """The fake gateway forwards a resident's SMS to our URL; what our endpoint answered."""
    body = {"url": options.pop("url", sms["url"]), "sender": SENDER, "content": content}
    answer = httpx.post(f"{sms['fakes']}/esms/_control/mo", json={**body, **options}, timeout=10)
    return answer.json()


def replies(fakes) -> list[str]:
    """What the fake gateway was asked to send to the resident, oldest first."""
    return [
        r.json["Content"]
        for r in fakes.state.recorded("esms")
        if isinstance(r.json, dict) and r.json.get("Phone") == "0912345678"
    ]


def callbacks(fakes) -> list[tuple]:
    """The delivery reports the fake gateway made: (SendStatus, our HTTP answer)."""
    with fakes.state.lock:
        return list(fakes.state.extra.get("esms_callbacks", []))


def choose(sms, **report) -> None:
    httpx.post(f"{sms['fakes']}/esms/_control/dlr", json=report, timeout=5).raise_for_status()


def test_the_sender_names_our_callback_url_with_its_token(db, sms, dispatcher, fakes):
    subscribe(db, "sms", PHONE, "00070")
    choose(sms, outcome="none")
    sent_delivery(db, dispatcher)
    (request,) = [r for r in fakes.state.recorded("esms") if (r.json or {}).get("Phone")]
    assert request.json["CallbackUrl"] == sms["url"]


def test_a_delivered_report_moves_the_sent_sms_forward(db, sms, dispatcher, fakes):
    subscribe(db, "sms", PHONE, "00070")
    sent = sent_delivery(db, dispatcher)
    wait_for(lambda: len(callbacks(fakes)) == 2)
    assert callbacks(fakes) == [("7", 200), ("5", 200)]
    keys = [f"dlr:{sent['sms_id']}:7", f"dlr:{sent['sms_id']}:5"]
    assert events(db) == [(keys[0], "other", "new"), (keys[1], "receipt", "new")]
    assert inbox.apply_waiting(db, CONF) == 2
    assert receipt(db, sent["id"]) == ("sent", "delivered", "eSMS: delivered")


@pytest.mark.parametrize(
    ("outcome", "final", "detail"),
    [
        ("failed", "5", "eSMS: the carrier reported it undelivered (SendStatus 5, SendFailed)"),
        ("rejected", "4", "eSMS: rejected by the gateway (SendStatus 4: brandname or template)"),
    ],
)
def test_a_failed_report_marks_the_delivery_failed_with_the_reason(
    db, sms, dispatcher, fakes, outcome, final, detail
):
    subscribe(db, "sms", PHONE, "00070")
    choose(sms, outcome=outcome, delay=0.01)
    sent = sent_delivery(db, dispatcher)
    wait_for(lambda: (final, 200) in callbacks(fakes))
    inbox.apply_waiting(db, CONF)
    assert receipt(db, sent["id"]) == ("sent", "failed", detail)
    assert db.execute("SELECT status FROM subscriptions").fetchone() == ("active",)


def test_a_report_with_a_wrong_token_is_refused_audited_and_stores_nothing(
    db, sms, dispatcher, fakes
):
    subscribe(db, "sms", PHONE, "00070")
    choose(sms, wrong_token=True)
    sent = sent_delivery(db, dispatcher)
    wait_for(lambda: len(callbacks(fakes)) == 2)
    assert callbacks(fakes) == [("7", 403), ("5", 403)]
    no_token = httpx.get(sms["hook"], params={"SMSID": sent["sms_id"], "SendStatus": "5"})
    assert no_token.status_code == 403
    assert events(db) == []
    assert refusals(db) == ["wrong or missing URL token"] * 3
    assert receipt(db, sent["id"]) == ("sent", None, None)


def test_a_repeated_report_is_applied_once(db, sms, dispatcher):
    subscribe(db, "sms", PHONE, "00070")
    choose(sms, outcome="none")
    sent = sent_delivery(db, dispatcher)
    query = {"SMSID": sent["sms_id"], "SendStatus": "5", "SendSuccess": "1", "SendFailed": "0"}
    for _ in range(3):
        assert httpx.get(sms["url"], params=query).status_code == 200
    assert inbox.apply_waiting(db, CONF) == 1
    assert httpx.get(sms["url"], params=query).status_code == 200
    assert inbox.apply_waiting(db, CONF) == 0
    history = json.loads(
        db.execute("SELECT history FROM deliveries WHERE id = ?", [sent["id"]]).fetchone()[0]
    )
    assert [e["receipt"] for e in history if "receipt" in e] == ["delivered"]


def test_malformed_and_oversized_calls_get_a_clear_refusal(db, sms):
    assert httpx.get(sms["url"], params={"hello": "1"}).status_code == 400
    assert httpx.get(sms["url"], params={"SMSID": "x", "SendStatus": "five"}).status_code == 400
    huge = httpx.post(sms["url"], content=b"x" * (MAX_BODY + 1))
    assert huge.status_code == 413
    assert events(db) == []


def test_dk_asks_for_confirmation_then_subscribes_and_welcomes(db, sms, dispatcher, fakes):
    answer = mo(sms, "DK hoàn kiếm")
    assert answer["status"] == 200
    assert answer["body"].startswith("<ClientResponse><Message></Message><Smsid>MO-")
    assert answer["body"].endswith(f"<Receiver>{SENDER}</Receiver></ClientResponse>")
    assert inbox.apply_waiting(db, CONF) == 1
    assert db.execute("SELECT status FROM subscriptions").fetchall() == [("pending",)]
    dispatcher.dispatch_due(db)
    (ask,) = replies(fakes)
    assert "Phuong Hoan Kiem (00070)" in ask and "DK OK" in ask and esms.is_gsm7(ask)
    mo(sms, "dk ok")
    inbox.apply_waiting(db, CONF)
    assert db.execute("SELECT region_code, status FROM subscriptions").fetchall() == [
        ("00070", "active")
    ]
    dispatcher.dispatch_due(db)
    welcome = replies(fakes)[-1]
    assert "Da dang ky" in welcome and "Phuong Hoan Kiem" in welcome and "HUY" in welcome
    assert db.execute("SELECT kind FROM notices ORDER BY id").fetchall() == [
        ("reply",),
        ("welcome",),
    ]
    audit = json.dumps(db.execute("SELECT * FROM audit_log").fetchall(), ensure_ascii=False)
    assert "912345678" not in audit and "+84******678" in audit


def test_dk_with_an_unknown_commune_gets_the_help_and_subscribes_nothing(
    db, sms, dispatcher, fakes
):
    mo(sms, "DK xyzzy")
    mo(sms, "DK OK")  # nothing was asked: the help again
    inbox.apply_waiting(db, CONF)
    dispatcher.dispatch_due(db)
    help_texts = replies(fakes)
    assert len(help_texts) == 2 and all("DK <ma hoac ten xa" in t for t in help_texts)
    assert db.execute("SELECT COUNT(*) FROM subscriptions").fetchone() == (0,)


def test_dk_naming_several_communes_lists_their_codes(db, sms, dispatcher, fakes):
    mo(sms, "DK Tan Hoa")
    inbox.apply_waiting(db, CONF)
    dispatcher.dispatch_due(db)
    (listed,) = replies(fakes)
    assert "04792 Phuong Tan Hoa" in listed and "25531 Xa Tan Hoa" in listed
    assert db.execute("SELECT COUNT(*) FROM subscriptions").fetchone() == (0,)


def test_huy_stops_sms_only_and_says_so(db, sms, dispatcher, fakes):
    subscribe(db, "sms", PHONE, "00070")
    subscribe(db, "sms", PHONE, "01")
    email = subscribe(db, "email", "lan@example.vn", "00070")
    mo(sms, "Hủy")
    inbox.apply_waiting(db, CONF)
    rows = db.execute("SELECT id, channel, status FROM subscriptions ORDER BY id").fetchall()
    assert [r[2] for r in rows if r[1] == "sms"] == ["unsubscribed"] * 2
    assert (email, "email", "active") in rows
    dispatcher.dispatch_due(db)
    assert "Da ngung nhan" in replies(fakes)[-1]


def test_a_forged_or_stale_inbound_sms_is_refused_and_changes_nothing(db, sms):
    subscribe(db, "sms", PHONE, "00070")
    assert mo(sms, "HUY", wrong_sign=True)["status"] == 403
    assert mo(sms, "HUY", cpid="CP9999")["status"] == 403
    assert mo(sms, "HUY", receiver_time="20250101070501")["status"] == 403
    assert mo(sms, "HUY", url=f"{sms['hook']}/wrong-token")["status"] == 403
    assert events(db) == []
    assert refusals(db) == [
        "wrong inbound SMS signature",
        "inbound SMS for another CP id",
        "stale inbound SMS",
        "wrong or missing URL token",
    ]
    assert db.execute("SELECT status FROM subscriptions").fetchone() == ("active",)


def test_a_repeated_inbound_sms_acts_once_and_replies_stay_under_the_caps(
    db, sms, dispatcher, fakes
):
    for _ in range(2):
        mo(sms, "DK xyzzy", smsid="MO-same-one")
    for n in range(4):
        mo(sms, f"xin chao {n}")
    assert len(events(db)) == 5
    inbox.apply_waiting(db, CONF)
    outcomes = db.execute("SELECT outcome FROM inbound_events ORDER BY id").fetchall()
    assert [o[0] for o in outcomes] == ["help"] * 3 + ["help, capped"] * 2
    dispatcher.dispatch_due(db)
    assert len(replies(fakes)) == 3
