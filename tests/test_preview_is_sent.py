"""What the approver previews is what residents receive: the SMS and the email each resident
gets through the fake providers are the preview's text but for their own token (and, before
publication, the code), the SMS within ALERTS_SMS_MAX_SEGMENTS counted on the final text; the
preview, the approval check, the verification page and the worker render with the same
settings (issue 12)."""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace

import pytest

from alerts.delivery import policy
from alerts.delivery.engine import Dispatcher
from alerts.errors import Refused
from alerts.residents import links as subscription_tokens
from alerts.residents import verify
from alerts.store import warnings as store
from alerts.warnings import publication
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import make_app
from tests.delivery_setup import add_accounts
from tests.delivery_setup import subscribe
from tests.fakes.esms import GSM7_BASIC

FAST = {c: replace(p, deadline=1.5) for c, p in policy.POLICIES.items()}
PHONES = ("+84912345001", "+84912345002", "+84912345003")
MAILBOXES = ("lan@example.vn", "minh@example.vn")
TOKEN = re.compile(r"/unsubscribe/([A-Za-z0-9_-]+)")
# Long enough that the SMS must be shortened to fit, with the stop link counted.
INSTRUCTION = (
    "Công an phường Hoàn Kiếm khuyến cáo người dân:\n"
    "- Không cung cấp mã OTP, mật khẩu cho bất kỳ ai qua điện thoại, kể cả người xưng là"
    " cán bộ công an, ngân hàng hay nhà mạng; cơ quan công an không làm việc qua điện thoại.\n"
    "- Gọi 113 hoặc đến trụ sở công an phường ngay khi nghi ngờ."
)


def keyed_app(db_path, segments: int):
    """The app with a SECRET_KEY (residents' tokens) and the SMS budget under test."""
    return make_app(
        db_path,
        SECRET_KEY="test-secret-for-tokens",
        DATA_KEY=CONFIG["DATA_KEY"],
        PUBLIC_URL=CONFIG["PUBLIC_URL"],
        SIGNING_KEY=CONFIG["SIGNING_KEY"],
        SMS_MAX_SEGMENTS=segments,
    )


def gsm_segments(text: str) -> int:
    """Count SMS segments by GSM 03.38 from the fake's own table (not the app's code): 160
    characters in one, 153 a part once concatenated; UCS-2 would be 70 and 67."""
    if all(ch in GSM7_BASIC for ch in text):
        return 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)


def sms_and_email(db, config) -> int:
    """Submit the long-instructed warning for SMS and email under ``config``; return its id."""
    changes = {"instruction": INSTRUCTION, "channels": ["sms", "email"]}
    return submitted(db, config=config, **changes)


def seen_by_approver(client, auth, alert_id: int) -> dict:
    """Return the preview the approver is shown (the API's: the page shows the same)."""
    response = client.get(f"/api/v1/alerts/{alert_id}/preview", headers=auth("hanoi.duyet"))
    assert response.status_code == 200
    return response.json["channels"]


def masked(text: str, code: str | None = None) -> str:
    """Return a received text with the resident's token (and the real code, when given)
    in the preview's placeholders."""
    text = TOKEN.sub(f"/unsubscribe/{publication.PREVIEW_TOKEN}", text)
    if code:
        text = text.replace(code, publication.PREVIEW_CODE)
        text = text.replace(f"{code[:4]}-{code[4:]}", "XXXX-XXXX")
    return text


def deliver(db, config) -> None:
    engine = Dispatcher(config, rng=random.Random(7), rules=FAST)
    try:
        engine.dispatch_due(db)
    finally:
        engine.close()


@pytest.mark.parametrize("segments", [2, 3])
def test_each_resident_receives_the_previewed_text_but_for_their_token(
    db_path, db, fakes, auth, segments
):
    app = keyed_app(db_path, segments)
    config = dict(app.config)
    client = app.test_client()
    add_accounts(db, config, fakes)
    ids = [subscribe(db, "sms", phone, "00070") for phone in PHONES]
    ids += [subscribe(db, "email", mailbox, "01") for mailbox in MAILBOXES]
    alert_id = sms_and_email(db, config)
    before = seen_by_approver(client, auth, alert_id)
    sms = before["sms"]
    assert sms["error"] is None
    assert f"/unsubscribe/{publication.PREVIEW_TOKEN}" in sms["parts"]["text"]
    assert sms["counts"]["characters"] == len(sms["parts"]["text"])
    assert sms["counts"]["segments"] == gsm_segments(sms["parts"]["text"]) <= segments
    alert = approve(db, "hanoi.duyet", alert_id, config)
    assert alert.status == Status.PUBLISHED
    after = seen_by_approver(client, auth, alert_id)
    deliver(db, config)

    received = fakes.state.extra["esms_sent"]
    assert sorted(m["phone"] for m in received) == sorted("0" + p[3:] for p in PHONES)
    tokens = set()
    for message in received:
        text = message["content"]
        tokens.update(TOKEN.findall(text))
        assert gsm_segments(text) <= segments
        assert masked(text, alert.code) == sms["parts"]["text"]
        assert masked(text) == after["sms"]["parts"]["text"]
    emails = fakes.state.recorded("email")
    assert len(emails) == len(MAILBOXES)
    for mail in emails:
        tokens.update(TOKEN.findall(mail.json["text"]))
        for part in ("text", "html"):
            got = mail.json[part].strip()
            assert masked(got, alert.code) == before["email"]["parts"][part], part
            assert masked(got) == after["email"]["parts"][part], part
        unsubscribe = mail.headers["list-unsubscribe"]
        assert masked(unsubscribe) == after["email"]["headers"]["List-Unsubscribe"]
    # Every resident got their own token, of the placeholder's length.
    assert tokens == {subscription_tokens.token_for(config, i) for i in ids}
    assert {len(t) for t in tokens} == {len(publication.PREVIEW_TOKEN)}
    # The verification page compares pasted texts with that same SMS.
    sms_texts = [t for channel, t in verify.renderings(db, alert, config) if channel == "sms"]
    assert verify.tidy(after["sms"]["parts"]["text"]) in sms_texts
    assert verify.check(db, received[0]["content"], config).verdict == verify.GENUINE


def test_a_budget_the_stop_link_leaves_no_room_in_is_refused_naming_channel_and_limit(
    db_path, db, fakes
):
    one = dict(keyed_app(db_path, 1).config)
    add_accounts(db, one, fakes)
    subscribe(db, "sms", PHONES[0], "00070")
    limit = {"channel": "SMS", "limit": "1 segment of 160 characters"}
    alert_id = sms_and_email(db, dict(keyed_app(db_path, 2).config))
    rendering = publication.preview(db, store.get_alert(db, alert_id), one)["sms"]
    assert isinstance(rendering, Refused) and rendering.params == limit
    with pytest.raises(Refused) as refused:
        approve(db, "hanoi.duyet", alert_id, one)
    assert refused.value.params == limit
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    with pytest.raises(Refused) as refused:
        sms_and_email(db, one)
    assert refused.value.params == limit
    deliver(db, one)
    assert not fakes.state.extra.get("esms_sent")


@pytest.mark.parametrize("segments", [1, 3])
def test_preview_approval_verification_and_sending_share_one_set_of_settings(segments):
    config = {**CONFIG, "SECRET_KEY": "k", "SMS_MAX_SEGMENTS": segments}
    preview = publication.render_settings(config)
    resident = publication.render_settings(config, 42)
    unit = publication.render_settings(config, None)
    assert preview.sms_max_segments == resident.sms_max_segments == segments
    assert unit.sms_max_segments == segments and unit.unsubscribe_url == ""
    assert resident.unsubscribe_url == subscription_tokens.unsubscribe_url(config, 42)
    assert len(preview.unsubscribe_url) == len(resident.unsubscribe_url)
    unkeyed = {**config, "SECRET_KEY": ""}
    assert publication.render_settings(unkeyed).unsubscribe_url == ""
    assert publication.render_settings(unkeyed, 42).unsubscribe_url == ""


def test_the_preview_says_what_the_placeholder_token_stands_for(db_path, db):
    app = keyed_app(db_path, 2)
    alert_id = sms_and_email(db, dict(app.config))
    found = publication.preview(db, store.get_alert(db, alert_id), dict(app.config))
    note = "The Xs in the stop link stand for each resident's own code (same length)."
    assert note in [text for text, _params in found["sms"].notes]
    assert note in [text for text, _params in found["email"].notes]
    assert note not in [text for text, _params in found["web"].notes]
