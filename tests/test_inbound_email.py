"""Bounces and complaints over loopback: a warning goes out through the SMTP fake with its
VERP envelope sender, the fake builds the real DSN or ARF report a receiving MTA would send
for that message, and it is POSTed, as the bounce domain's mail-receiving service does, to
the app served over HTTP; the worker's inbox then fails the delivery and pauses the address
on email only, or only notes a soft bounce."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import httpx
import pytest

from alerts.delivery import inbox
from alerts.delivery import policy
from alerts.inbound import MAX_BODY
from alerts.security import vault
from alerts.store import accounts as account_store
from tests.builders import CONFIG
from tests.builders import published
from tests.conftest import make_app
from tests.delivery_setup import add_accounts
from tests.delivery_setup import dispatch_once
from tests.delivery_setup import subscribe
from tests.fakes import smtp

HOOK_TOKEN = "bounce-hook_0123456789abcdef"
BOUNCE_KEY = "verp-key-0123456789abcdef0123456789"
ADDRESS = "lan.nguyen@example.vn"
FAST = {c: replace(p, deadline=1.5) for c, p in policy.POLICIES.items()}


@pytest.fixture
def app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def email(db, fakes, live_server):
    """The email account with its bounce key and hook token; its bounce endpoint."""
    account_id = add_accounts(db, CONFIG, fakes)["email"]
    stored = account_store.get_account(db, account_id)
    settings = {**stored.settings, "bounce_domain": "bounce.bocongan.gov.vn"}
    db.execute(
        "UPDATE channel_accounts SET settings = ? WHERE id = ?", [json.dumps(settings), account_id]
    )
    secrets = {"bounce_key": BOUNCE_KEY, "hook_token": HOOK_TOKEN}
    account_store.set_secrets(db, account_id, vault.seal(CONFIG, secrets))
    return {"id": account_id, "url": f"{live_server}/hooks/email/{account_id}/{HOOK_TOKEN}"}


@pytest.fixture
def sent(db, email, fakes):
    """A warning sent by email to the resident (also subscribed by SMS); the message the
    SMTP fake received and the delivery's id."""
    subscribe(db, "email", ADDRESS, "00070")
    subscribe(db, "sms", "+84912345678", "00070")
    published(db, channels=["email"])
    dispatch_once(db)
    (message,) = [r for r in fakes.state.recorded("email") if ADDRESS in r.json["rcpt_tos"]]
    delivery = db.execute("SELECT id, status FROM deliveries WHERE target = ?", [ADDRESS])
    row = delivery.fetchone()
    assert row[1] == "sent"
    return {"message": message, "delivery": row[0]}


def post(email, raw: bytes, to: str | None = None, url: str | None = None) -> httpx.Response:
    params = {"to": to} if to else {}
    headers = {"Content-Type": "message/rfc822"}
    return httpx.post(url or email["url"], content=raw, params=params, headers=headers)


def events(db) -> list[tuple]:
    return db.execute("SELECT event_key, kind, status FROM inbound_events ORDER BY id").fetchall()


def refusals(db) -> list[str]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'").fetchall()
    return [json.loads(r[0])["reason"] for r in rows]


def states(db) -> dict:
    rows = db.execute(
        "SELECT channel, status || ':' || COALESCE(paused_reason, '') FROM subscriptions"
    )
    return dict(rows.fetchall())


def receipt(db, delivery_id: int) -> tuple:
    return db.execute(
        "SELECT status, receipt, receipt_detail FROM deliveries WHERE id = ?", [delivery_id]
    ).fetchone()


def test_each_message_goes_out_with_its_own_verp_sender_and_no_address_in_it(sent):
    message = sent["message"]
    mail_from = message.json["mail_from"]
    assert re.fullmatch(r"bounce\+[0-9a-f]{32}\.[0-9a-f]{16}@bounce\.bocongan\.gov\.vn", mail_from)
    token = mail_from.removeprefix("bounce+").partition("@")[0]
    assert message.headers["x-alerts-delivery"] == token
    assert message.headers["message-id"].startswith(f"<{token.partition('.')[0]}@")
    assert "lan" not in mail_from


def test_a_hard_bounce_fails_the_delivery_and_pauses_the_address_on_email_only(db, email, sent):
    message = sent["message"]
    answer = post(email, smtp.dsn(message), to=message.json["mail_from"])
    assert answer.status_code == 200
    assert [e[1] for e in events(db)] == ["receipt", "stopped"]
    assert inbox.apply_waiting(db, CONFIG) == 2
    status, state, detail = receipt(db, sent["delivery"])
    assert (status, state) == ("sent", "failed")
    assert detail.startswith("bounced: 5.1.1 smtp; 550 5.1.1")
    assert states(db) == {"email": "disabled:the address bounced", "sms": "active:"}
    audit = json.dumps(db.execute("SELECT * FROM audit_log").fetchall())
    assert ADDRESS not in audit and "l***@example.vn" in audit


def test_the_token_is_found_without_the_envelope_recipient(db, email, sent):
    assert post(email, smtp.dsn(sent["message"])).status_code == 200  # its To: header
    inbox.apply_waiting(db, CONFIG)
    assert states(db)["email"] == "disabled:the address bounced"


@pytest.mark.parametrize(
    ("action", "status", "state"),
    [("delayed", "4.2.2", None), ("failed", "4.4.1", None), ("failed", "5.7.1", "failed")],
)
def test_a_soft_bounce_or_our_own_policy_failure_pauses_nobody(
    db, email, sent, action, status, state
):
    raw = smtp.dsn(sent["message"], action=action, status=status, diagnostic=f"smtp; {status}")
    assert post(email, raw).status_code == 200
    inbox.apply_waiting(db, CONFIG)
    assert receipt(db, sent["delivery"])[1] == state
    assert states(db) == {"email": "active:", "sms": "active:"}


def test_a_complaint_pauses_the_address_at_once(db, email, sent):
    assert post(email, smtp.arf(sent["message"])).status_code == 200
    inbox.apply_waiting(db, CONFIG)
    assert states(db) == {"email": "disabled:complained of spam", "sms": "active:"}
    outcome = db.execute("SELECT outcome FROM inbound_events").fetchone()
    assert outcome == ("paused 1",)


def test_a_virus_report_is_no_complaint(db, email, sent):
    assert post(email, smtp.arf(sent["message"], feedback_type="virus")).status_code == 200
    inbox.apply_waiting(db, CONFIG)
    assert states(db)["email"] == "active:"


def test_a_repeated_bounce_is_applied_once(db, email, sent):
    raw = smtp.dsn(sent["message"])
    for _ in range(3):
        assert post(email, raw).status_code == 200
    assert len(events(db)) == 2
    assert inbox.apply_waiting(db, CONFIG) == 2
    assert post(email, raw).status_code == 200
    assert inbox.apply_waiting(db, CONFIG) == 0
    paused = "SELECT COUNT(*) FROM audit_log WHERE action = 'subscription.paused'"
    assert db.execute(paused).fetchone() == (1,)


def test_forged_bounces_and_calls_are_refused_audited_and_change_nothing(db, email, sent):
    message = sent["message"]
    forged = replace(message, json={**message.json, "mail_from": _tampered(message)})
    forged = replace(forged, body=message.body.replace(b"X-Alerts-Delivery", b"X-Other"))
    ignored = post(email, smtp.dsn(forged))
    assert (ignored.status_code, ignored.text) == (200, "ignored")
    wrong = post(email, smtp.dsn(message), url=email["url"].replace(HOOK_TOKEN, "x" * 28))
    assert wrong.status_code == 403
    no_token = post(email, smtp.dsn(message), url=email["url"].rsplit("/", 1)[0])
    assert no_token.status_code == 403
    huge = post(email, b"x" * (MAX_BODY + 1))
    assert huge.status_code == 413
    assert events(db) == []
    assert (
        refusals(db)
        == ["no bounce address with a valid token"] + ["wrong or missing URL token"] * 2
    )
    inbox.apply_waiting(db, CONFIG)
    assert states(db) == {"email": "active:", "sms": "active:"}
    assert receipt(db, sent["delivery"]) == ("sent", None, None)


def _tampered(message) -> str:
    """The VERP address with one hex digit of its digest changed (the HMAC no longer fits)."""
    mail_from = message.json["mail_from"]
    digit = mail_from[7]
    return mail_from[:7] + ("0" if digit != "0" else "1") + mail_from[8:]


def test_mail_that_is_neither_a_dsn_nor_a_complaint_is_only_noted(db, email, sent):
    token = sent["message"].json["mail_from"]
    raw = f"From: someone@example.net\r\nTo: {token}\r\nSubject: hi\r\n\r\nout of office\r\n"
    assert post(email, raw.encode()).status_code == 200
    inbox.apply_waiting(db, CONFIG)
    assert [e[1:] for e in events(db)] == [("other", "done")]
    assert states(db)["email"] == "active:"


def test_the_fake_servers_control_bounces_a_message_as_the_demo_does(db, email, sent, fakes):
    control = f"{fakes.url}/_control/bounce"
    answer = httpx.post(control, json={"url": email["url"], "to": ADDRESS, "complaint": True})
    assert answer.json() == {"ok": True, "status": 200, "body": "ok"}
    nobody = httpx.post(control, json={"url": email["url"], "to": "x@example.vn"})
    assert nobody.status_code == 404
    inbox.apply_waiting(db, CONFIG)
    assert states(db)["email"] == "disabled:complained of spam"


def test_where_the_relay_offers_dsn_the_token_is_the_envid_and_comes_back_in_the_dsn(
    db, email, fakes
):
    fakes.state.extra[smtp.DSN] = True
    subscribe(db, "email", ADDRESS, "00070")
    published(db, channels=["email"])
    dispatch_once(db)
    (message,) = fakes.state.recorded("email")
    token = message.json["mail_from"].removeprefix("bounce+").partition("@")[0]
    assert message.json["mail_options"] == ["RET=HDRS", f"ENVID={token.upper()}"]
    assert message.json["rcpt_options"] == ["NOTIFY=FAILURE,DELAY"]
    # A gateway that rewrote the envelope and kept none of our headers: the ENVID is left.
    bare = replace(message, body=message.body.replace(b"X-Alerts-Delivery", b"X-Other"))
    bare = replace(bare, json={**message.json, "mail_from": "postmaster@example.vn"})
    assert post(email, smtp.dsn(bare)).status_code == 200
    inbox.apply_waiting(db, CONFIG)
    assert states(db)["email"] == "disabled:the address bounced"
