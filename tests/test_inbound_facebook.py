"""Meta calling back, over loopback: the fake Graph makes the verification GET and POSTs
signed Page notifications (Messenger messages, postbacks, comments, delivery and read
receipts of the messages its Send API accepted) to the app served over HTTP; the worker's
inbox then moves the deliveries they cover, sent -> delivered -> read."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.delivery import inbox
from alerts.inbound import MAX_BODY
from alerts.security import vault
from alerts.store import accounts as account_store
from tests.builders import CONFIG
from tests.builders import published
from tests.conftest import make_app
from tests.delivery_setup import add_accounts
from tests.fakes import graph

PSID, OTHER_PSID = "7200000000000001", "7200000000000002"


@pytest.fixture
def app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"])


@pytest.fixture
def fb(db, fakes, live_server):
    """The Page's account with the app secret and verify token; its hook URL."""
    account_id = add_accounts(db, CONFIG, fakes)["facebook"]
    secrets = {"access_token": graph.PAGE_TOKEN, "app_secret": graph.APP_SECRET}
    secrets["verify_token"] = graph.VERIFY_TOKEN
    account_store.set_secrets(db, account_id, vault.seal(CONFIG, secrets))
    return {"id": account_id, "url": f"{live_server}/hooks/facebook/{account_id}", "fakes": fakes}


def notify(fb, **order) -> dict:
    """The fake Graph POSTs one notification to our hook; our answers and its payload."""
    control = f"{fb['fakes'].url}/graph/_control/webhook"
    answer = httpx.post(control, json={"url": fb["url"], "psid": PSID, **order}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def statuses(result: dict) -> list[int]:
    return [a["status"] for a in result["answers"]]


def verify(fb, **order) -> dict:
    control = f"{fb['fakes'].url}/graph/_control/handshake"
    return httpx.post(control, json={"url": fb["url"], **order}, timeout=10).json()


def events(db) -> list[tuple]:
    return db.execute("SELECT event_key, kind, status FROM inbound_events ORDER BY id").fetchall()


def opened(db, key: str) -> dict:
    """What the inbox sealed for one event: its sender and data."""
    (sealed,) = db.execute(
        "SELECT sealed FROM inbound_events WHERE event_key = ?", [key]
    ).fetchone()
    return vault.unseal(CONFIG, sealed)


def refusals(db) -> list[str]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'").fetchall()
    return [json.loads(r[0])["reason"] for r in rows]


def signed_post(fb, body: bytes) -> httpx.Response:
    """POST bytes correctly signed with the app secret, as only Meta could."""
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": graph.hub_signature(body)}
    return httpx.post(fb["url"], content=body, headers=headers, timeout=10)


def test_the_handshake_echoes_the_challenge_for_our_verify_token(fb):
    assert verify(fb, challenge="1158201444") == {"status": 200, "body": "1158201444"}


def test_the_handshake_refuses_a_wrong_token_or_mode(db, fb):
    assert verify(fb, verify_token="vt-guessed")["status"] == 403
    assert verify(fb, mode="unsubscribe")["status"] == 403
    assert verify(fb, challenge="<script>")["status"] == 400  # never echoed back
    refused = db.execute("SELECT detail FROM audit_log WHERE action = 'hook.refused'").fetchall()
    reasons = [json.loads(row[0])["reason"] for row in refused]
    assert reasons == [
        "handshake refused (403)",
        "handshake refused (403)",
        "handshake refused (400)",
    ]
    assert not any("vt-guessed" in row[0] for row in refused)  # nothing the caller sent
    assert verify(fb, challenge="1158201444")["status"] == 200
    assert len(db.execute("SELECT 1 FROM audit_log WHERE action = 'hook.refused'").fetchall()) == 3


def test_a_residents_message_is_stored_for_the_worker(db, fb):
    text = "Số 0901234567 gọi tự xưng công an, có phải lừa đảo?"
    result = notify(fb, text=text, mid="m_resident0001")
    assert statuses(result) == [200]
    assert b"\\u" in json.dumps(result["payload"], ensure_ascii=True).encode()  # escaped form
    assert events(db) == [("mid:m_resident0001", "message", "new")]
    kept = opened(db, "mid:m_resident0001")
    assert kept["sender"] == PSID and kept["data"]["text"] == text
    assert kept["data"]["reply_until"] > to_text(utcnow() + timedelta(hours=23))
    assert inbox.apply_waiting(db, CONFIG) == 1
    assert events(db) == [("mid:m_resident0001", "message", "done")]


def test_a_forged_or_unsigned_call_changes_nothing(db, fb):
    assert statuses(notify(fb, signature="wrong")) == [403]
    assert statuses(notify(fb, signature="none")) == [403]
    assert events(db) == []
    assert refusals(db) == ["wrong signature", "missing signature"]


def test_a_replayed_call_and_a_redelivered_event_are_stored_once(db, fb):
    assert statuses(notify(fb, mid="m_twice", times=3)) == [200, 200, 200]
    later = int(time.time() * 1000) + 5000
    assert statuses(notify(fb, mid="m_twice", time=later)) == [200]  # other bytes, same mid
    assert events(db) == [("mid:m_twice", "message", "new")]


def test_an_entry_for_another_page_or_too_old_is_refused(db, fb):
    assert statuses(notify(fb, page_id="104857600000999")) == [403]
    three_days_ago = int((time.time() - 3 * 86400) * 1000)
    assert statuses(notify(fb, time=three_days_ago)) == [403]
    assert events(db) == []
    assert refusals(db) == ["an entry for another Page", "stale entry"]


def test_malformed_and_oversized_bodies_get_their_refusal(db, fb):
    assert signed_post(fb, b"{not json").status_code == 400
    assert signed_post(fb, json.dumps({"object": "user", "entry": []}).encode()).status_code == 400
    padding = "x" * MAX_BODY
    body = json.dumps({"object": "page", "entry": [], "pad": padding}).encode()
    assert signed_post(fb, body).status_code == 413
    assert events(db) == []
    assert refusals(db) == ["not JSON", "not a Page notification"]


def test_a_postback_and_a_comment_are_stored(db, fb):
    assert statuses(notify(fb, event="postback", text="DK 00070", mid="m_button1")) == [200]
    comment = {"event": "comment", "mid": "987650000000002_555000111", "psid": OTHER_PSID}
    assert statuses(notify(fb, **comment, times=2)) == [200, 200]
    assert events(db) == [
        ("postback:m_button1", "callback", "new"),
        ("comment:987650000000002_555000111", "message", "new"),
    ]
    assert opened(db, "postback:m_button1")["data"]["payload"] == "DK 00070"
    assert opened(db, "comment:987650000000002_555000111")["sender"] == OTHER_PSID


def _messenger_delivery(db, fb, warning_id: int, psid: str, sent_at: str) -> int:
    """A message to a resident through the fake's Send API, recorded as a sent delivery
    (no sender of ours writes to Messenger yet: a reply will)."""
    url = f"{fb['fakes'].url}/graph/v23.0/me/messages"
    form = {"recipient": json.dumps({"id": psid}), "message": json.dumps({"text": "Đã nhận"})}
    form.update(messaging_type="RESPONSE", access_token=graph.PAGE_TOKEN)
    answer = httpx.post(url, data=form, timeout=5).json()
    assert answer["recipient_id"] == psid
    return db.execute(
        "INSERT INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " idempotency_key, status, next_attempt_at, expires_at, provider_id, created_at,"
        " sent_at) VALUES (?, 'Alert', 'facebook', ?, ?, ?, 'sent', ?, ?, ?, ?, ?)",
        [warning_id, fb["id"], psid, answer["message_id"], sent_at, sent_at]
        + [answer["message_id"], sent_at, sent_at],
    ).lastrowid


def receipts(db, ids: list[int]) -> list[str | None]:
    rows = db.execute(
        "SELECT id, receipt FROM deliveries WHERE id IN (SELECT value FROM json_each(?))",
        [json.dumps(ids)],
    ).fetchall()
    return [dict(rows)[i] for i in ids]


def test_receipts_move_deliveries_sent_delivered_read(db, fb):
    warning = published(db, channels=["facebook"])
    earlier = to_text(utcnow() - timedelta(minutes=10))
    ours = [_messenger_delivery(db, fb, warning.id, PSID, earlier) for _ in range(2)]
    stranger = _messenger_delivery(db, fb, warning.id, OTHER_PSID, earlier)
    later = _messenger_delivery(db, fb, warning.id, PSID, to_text(utcnow() + timedelta(hours=1)))

    delivered = notify(fb, event="delivery")
    assert len(delivered["payload"]["entry"][0]["messaging"][0]["delivery"]["mids"]) == 3
    assert inbox.apply_waiting(db, CONFIG) == 1
    assert receipts(db, [*ours, later, stranger]) == ["delivered"] * 3 + [None]

    assert statuses(notify(fb, event="read")) == [200]
    assert inbox.apply_waiting(db, CONFIG) == 1
    # The watermark covers what was sent before it, not the message sent after it.
    assert receipts(db, [*ours, later, stranger]) == ["read", "read", "delivered", None]
    broadcast = db.execute(
        "SELECT receipt FROM deliveries WHERE warning_id = ? AND target = 'broadcast'",
        [warning.id],
    ).fetchone()
    assert broadcast == (None,)


def test_a_read_watermark_covers_earlier_messages_never_named(db, fb):
    warning = published(db, channels=["facebook"])
    sent = _messenger_delivery(db, fb, warning.id, PSID, to_text(utcnow() - timedelta(hours=2)))
    assert statuses(notify(fb, event="read")) == [200]
    assert statuses(notify(fb, event="delivery")) == [200]  # late, names the same mid
    assert inbox.apply_waiting(db, CONFIG) == 2
    assert receipts(db, [sent]) == ["read"]  # a late delivery never hides the read
    history = json.loads(
        db.execute("SELECT history FROM deliveries WHERE id = ?", [sent]).fetchone()[0]
    )
    assert [h.get("receipt") for h in history if "receipt" in h] == ["read"]
