"""The webhook channel: Standard Webhooks signatures and the JSON body for partners.

Signatures are checked by an implementation of the algorithm written here from the spec
text (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
not by calling ``alerts.channels.webhook_signing``, and against the spec's published test
vector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from alerts.channels import webhook_signing
from alerts.render import RenderSettings
from alerts.render import webhook
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode("ascii")
OLD_SECRET = "whsec_" + base64.b64encode(b"the secret being rotated out!!").decode("ascii")
NOW = 1_796_000_000
# The test vector published with the Standard Webhooks reference libraries.
VECTOR = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": b'{"test": 2432232314}',
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
NASTY = "Cảnh báo \"khẩn\" \\ C:\\new </script><b>&amp; 🚨👮\u200d♀️ dòng\u2028mới\u2029 'x' \x7f"


def independent_signatures(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The spec, step by step: strip whsec_, base64-decode the key, HMAC-SHA256 over
    "{id}.{timestamp}.{body}", base64 it, prefix "v1,"; any of the space-separated
    signatures may match, compared in constant time."""
    key = base64.b64decode(secret[len("whsec_") :])
    signed = (
        headers["webhook-id"].encode("utf-8")
        + b"."
        + headers["webhook-timestamp"].encode("utf-8")
        + b"."
        + body
    )
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split(" "))


def test_new_secret_is_whsec_and_random():
    first, second = webhook_signing.new_secret(), webhook_signing.new_secret()
    assert first.startswith("whsec_") and first != second
    assert 24 <= len(base64.b64decode(first[len("whsec_") :])) <= 64


def test_signs_the_published_test_vector():
    headers = webhook_signing.sign_headers(
        VECTOR["secret"], VECTOR["id"], VECTOR["timestamp"], VECTOR["body"]
    )
    assert headers == {
        "webhook-id": VECTOR["id"],
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR["signature"],
    }
    assert webhook_signing.verify(
        VECTOR["secret"], headers, VECTOR["body"], now=VECTOR["timestamp"] + 10
    )


def test_sign_headers_agree_with_an_independent_implementation():
    body = json.dumps({"type": "alert.published", "headline": "Cảnh báo"}).encode()
    headers = webhook_signing.sign_headers(SECRET, "msg_7_1", NOW, body)
    assert headers["webhook-id"] == "msg_7_1"
    assert headers["webhook-timestamp"] == str(NOW)
    assert headers["webhook-signature"].startswith("v1,")
    assert independent_signatures(SECRET, headers, body)
    assert not independent_signatures(OLD_SECRET, headers, body)
    assert not independent_signatures(SECRET, headers, body + b" ")


def test_rotation_sends_and_accepts_several_signatures():
    body = b'{"id": "7.1"}'
    headers = webhook_signing.sign_headers(SECRET, "msg_1", NOW, body, extra_secrets=[OLD_SECRET])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert independent_signatures(SECRET, headers, body)
    assert independent_signatures(OLD_SECRET, headers, body)
    assert webhook_signing.verify(SECRET, headers, body, now=NOW)
    assert webhook_signing.verify(OLD_SECRET, headers, body, now=NOW)
    # A receiver's list may lead with signatures it cannot use (another key, another scheme).
    mixed = dict(headers)
    mixed["webhook-signature"] = "v1a,AAAA v1,bm90LWl0 " + headers["webhook-signature"]
    assert webhook_signing.verify(OLD_SECRET, mixed, body, now=NOW)


def test_verify_refuses_a_changed_body_a_wrong_secret_and_bad_timestamps():
    body = b'{"headline": "C\xe1\xba\xa3nh b\xc3\xa1o"}'
    headers = webhook_signing.sign_headers(SECRET, "msg_1", NOW, body)
    assert webhook_signing.verify(SECRET, headers, body, now=NOW + 299)
    for index in range(len(body)):
        changed = bytearray(body)
        changed[index] ^= 0x01
        assert not webhook_signing.verify(SECRET, headers, bytes(changed), now=NOW)
    assert not webhook_signing.verify(OLD_SECRET, headers, body, now=NOW)
    assert not webhook_signing.verify(SECRET, headers, body, now=NOW + 301)
    assert not webhook_signing.verify(SECRET, headers, body, now=NOW - 301)
    assert webhook_signing.verify(SECRET, headers, body, now=NOW + 600, tolerance=900)
    for name, value in [
        ("webhook-timestamp", str(NOW + 1)),
        ("webhook-timestamp", "soon"),
        ("webhook-id", "msg_2"),
        ("webhook-signature", "v1a," + headers["webhook-signature"][3:]),
        ("webhook-signature", ""),
    ]:
        assert not webhook_signing.verify(SECRET, {**headers, name: value}, body, now=NOW)
    assert not webhook_signing.verify(SECRET, {}, body, now=NOW)


def test_verify_reads_header_names_in_any_case():
    headers = webhook_signing.sign_headers(SECRET, "msg_1", NOW, b"{}")
    upper = {name.title(): value for name, value in headers.items()}
    assert webhook_signing.verify(SECRET, upper, b"{}", now=NOW)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_%%%", "whsec_" + "QUJD"])
def test_malformed_secrets_are_refused(secret):
    with pytest.raises(ValueError, match="webhook secret"):
        webhook_signing.sign_headers(secret, "msg_1", NOW, b"{}")


@pytest.mark.parametrize("msg_id, timestamp", [("msg.1", NOW), ("", NOW), ("msg_1", "1.5")])
def test_ids_and_timestamps_with_dots_are_refused(msg_id, timestamp):
    with pytest.raises(ValueError):
        webhook_signing.sign_headers(SECRET, msg_id, timestamp, b"{}")


def _body(message) -> tuple[dict, str]:
    rendering = webhook.render(message, RenderSettings())
    text = rendering.parts["json"]
    return json.loads(text), text


def test_body_carries_what_partners_need():
    message = sample_message()
    rendering = webhook.render(message, RenderSettings())
    assert rendering.channel == "webhook"
    assert rendering.media_type == "application/json"
    assert rendering.counts["bytes"] == len(rendering.parts["json"].encode("utf-8"))
    data = json.loads(rendering.parts["json"])
    assert data["type"] == "alert.published"
    assert data["id"] == "canhbao.bocongan.gov.vn:7.1"
    assert data["sent"] == "2026-12-01T08:30:00+07:00"
    assert data["code"] == "K7M4XQ2P"
    assert data["url"] == "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P"
    assert data["cap_url"] == "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P.cap"
    assert data["issuer"] == {"code": "ca-00070", "name": "Công an phường Hoàn Kiếm"}
    assert data["approver"] == "Công an thành phố Hà Nội"
    assert data["regions"] == [{"code": "00070", "name": "Phường Hoàn Kiếm", "level": "commune"}]
    assert data["mode"] == "Actual" and data["msg_type"] == "Alert"
    assert data["references"] == []
    assert data["content"] == message.content.as_dict()
    assert data["cap"].lstrip().startswith(("<?xml", "<alert"))
    assert "K7M4XQ2P" in data["cap"]


def test_updates_and_cancels_say_so():
    update, _ = _body(sample_update())
    assert update["type"] == "alert.updated"
    assert update["references"] == [
        {
            "sender": "ca-00070@canhbao.bocongan.gov.vn",
            "identifier": "canhbao.bocongan.gov.vn:7.1",
            "sent": "2026-12-01T08:30:00+07:00",
        }
    ]
    cancel, _ = _body(sample_cancel())
    assert cancel["type"] == "alert.cancelled"
    assert cancel["cancel_reason"] == "Thông tin chưa chính xác, đã xác minh lại."


def test_body_escapes_nothing_wrongly():
    content = sample_content(headline=NASTY, instruction=NASTY + "\n" + NASTY)
    data, text = _body(sample_message(content))
    assert data["content"]["headline"] == NASTY
    assert data["content"]["instruction"] == NASTY + "\n" + NASTY
    assert "</script>" not in text  # tojson escapes < > & even with ensure_ascii off


def test_rendering_is_deterministic_and_signable():
    first = webhook.render(sample_message(), RenderSettings()).parts["json"]
    second = webhook.render(sample_message(), RenderSettings()).parts["json"]
    assert first == second
    body = first.encode("utf-8")
    headers = webhook_signing.sign_headers(SECRET, "msg_7_1", NOW, body)
    assert independent_signatures(SECRET, headers, body)
    assert webhook_signing.verify(SECRET, headers, body, now=NOW)
