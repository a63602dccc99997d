"""Ed25519 signatures of published warnings: canonical, checkable by anyone, hard to fake.

Signatures are also checked with PyNaCl (libsodium), so the tests do not only trust the
library that made them.
"""

from __future__ import annotations

import base64
import json
import stat
import unicodedata
from dataclasses import replace

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from alerts.warnings import signatures as signing
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

SEED = base64.b64encode(bytes(range(32))).decode("ascii")
OTHER_SEED = base64.b64encode(bytes(range(1, 33))).decode("ascii")


def _flip_one_byte(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def test_canonical_payload_is_compact_sorted_utf8_json():
    payload = signing.canonical_payload(sample_message())
    data = json.loads(payload)
    assert payload == json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")
    assert "Cảnh báo".encode() in payload  # not \u escapes
    assert data["version"] == "alerts-signature/1"
    assert data["sent"] == "2026-12-01T08:30:00+07:00"
    assert data["regions"] == ["00070"]
    assert data["code"] == "K7M4XQ2P"
    assert data["approver_name"] == "Công an thành phố Hà Nội"
    assert data["content"] == sample_content().as_dict()
    assert data["content"]["expires_at"] == "2026-12-08T01:30:00+00:00"
    assert "cancel_reason" not in data
    assert signing.canonical_payload(sample_message()) == payload


def test_canonical_payload_covers_references_and_the_cancel_reason():
    update = json.loads(signing.canonical_payload(sample_update()))
    assert update["references"] == [
        {
            "sender": "ca-00070@canhbao.bocongan.gov.vn",
            "identifier": "canhbao.bocongan.gov.vn:7.1",
            "sent": "2026-12-01T08:30:00+07:00",
        }
    ]
    cancel = json.loads(signing.canonical_payload(sample_cancel()))
    assert cancel["msg_type"] == "Cancel"
    assert cancel["cancel_reason"] == "Thông tin chưa chính xác, đã xác minh lại."


def test_canonical_payload_is_nfc():
    headline = "Cảnh báo lừa đảo qua Zalo"
    decomposed = unicodedata.normalize("NFD", headline)
    assert decomposed != headline
    nfc = signing.canonical_payload(sample_message(sample_content(headline=headline)))
    nfd = signing.canonical_payload(sample_message(sample_content(headline=decomposed)))
    assert nfd == nfc
    assert unicodedata.is_normalized("NFC", nfc.decode("utf-8"))


def test_every_resident_facing_change_changes_the_payload():
    base = signing.canonical_payload(sample_message())
    changed = [
        sample_message(sample_content(headline="Cảnh báo khác")),
        sample_message(sample_content(link="https://bocongan.gov.vn/khac")),
        sample_message(sample_content(expires_at="2026-12-09T01:30:00+00:00")),
        sample_message(code="ZZZZ9999"),
        sample_message(approver_name=None),
        sample_message(issuer_name="Công an phường khác"),
    ]
    assert all(signing.canonical_payload(m) != base for m in changed)


def test_sign_and_verify_round_trip():
    key = signing.load_key(SEED)
    public = signing.public_key_b64(key)
    payload = "Cảnh báo: đừng đọc mã OTP".encode()
    signature = signing.sign(key, payload)
    assert len(base64.b64decode(signature)) == 64
    assert signing.verify(public, payload, signature)


def test_one_changed_byte_or_another_key_fails():
    key = signing.load_key(SEED)
    payload = signing.canonical_payload(sample_message())
    signature = signing.sign(key, payload)
    public = signing.public_key_b64(key)
    for index in (0, len(payload) // 2, len(payload) - 1):
        assert not signing.verify(public, _flip_one_byte(payload, index), signature)
    raw_signature = base64.b64decode(signature)
    bad_signature = base64.b64encode(_flip_one_byte(raw_signature, 10)).decode("ascii")
    assert not signing.verify(public, payload, bad_signature)
    other = signing.public_key_b64(signing.load_key(OTHER_SEED))
    assert not signing.verify(other, payload, signature)


@pytest.mark.parametrize(
    "seed, problem",
    [
        ("", "empty"),
        ("not base64!", "base64"),
        ("AAA", "base64"),
        (base64.b64encode(bytes(31)).decode("ascii"), "32-byte"),
        (base64.b64encode(bytes(64)).decode("ascii"), "32-byte"),
    ],
)
def test_malformed_keys_raise_a_clear_value_error(seed, problem):
    with pytest.raises(ValueError, match=problem):
        signing.load_key(seed)


def test_malformed_input_to_verify_is_false_not_a_crash():
    key = signing.load_key(SEED)
    public = signing.public_key_b64(key)
    payload = b"payload"
    good = signing.sign(key, payload)
    short_key = base64.b64encode(bytes(31)).decode("ascii")
    cases = [
        (public, payload, ""),
        (public, payload, "not base64!"),
        (public, payload, good[:-4]),
        (public, payload, base64.b64encode(bytes(65)).decode("ascii")),
        (public, payload, None),
        ("", payload, good),
        ("%%%", payload, good),
        (short_key, payload, good),
        (None, payload, good),
        (public, "payload", good),
        (public, None, good),
        ("Ééé", payload, good),
    ]
    for public_key, data, signature in cases:
        assert signing.verify(public_key, data, signature) is False


def test_key_id_is_the_start_of_the_public_key_hash():
    key = signing.load_key(SEED)
    raw = base64.b64decode(signing.public_key_b64(key))
    assert len(raw) == 32
    key_id = signing.key_id(key)
    assert len(key_id) == 16 and int(key_id, 16) >= 0
    assert key_id == signing.key_id(key.public_key())
    assert key_id != signing.key_id(signing.load_key(OTHER_SEED))


def test_dev_key_is_created_private_and_kept(tmp_path):
    path = tmp_path / "instance" / "signing-key.b64"
    first = signing.dev_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.dev_key(path) == first
    assert signing.load_key(first)
    other = signing.dev_key(tmp_path / "elsewhere" / "signing-key.b64")
    assert other != first


def test_dev_key_refuses_a_damaged_file(tmp_path):
    path = tmp_path / "signing-key.b64"
    path.write_text("garbage\n")
    with pytest.raises(ValueError, match="signing-key.b64"):
        signing.dev_key(path)


def test_published_message_signed_and_verified():
    signer = signing.Signer.from_seed(SEED)
    signature = signer.sign_message(sample_message())
    assert signature.key_id == signer.key_id == signing.key_id(signer.private_key)
    assert signature.payload == signing.canonical_payload(sample_message())
    assert signing.verify(signer.public_key_b64, signature.payload, signature.signature)
    tampered = signing.canonical_payload(
        sample_message(sample_content(link="https://bocongan.gov.vn/gia-mao"))
    )
    assert not signing.verify(signer.public_key_b64, tampered, signature.signature)


def test_pynacl_agrees_with_our_signatures():
    """An independent Ed25519 implementation (libsodium) accepts and refuses the same."""
    signer = signing.Signer.from_seed(SEED)
    signature = signer.sign_message(sample_cancel())
    verify_key = VerifyKey(base64.b64decode(signer.public_key_b64))
    raw_signature = base64.b64decode(signature.signature)
    assert verify_key.verify(signature.payload, raw_signature) == signature.payload
    with pytest.raises(BadSignatureError):
        verify_key.verify(_flip_one_byte(signature.payload, 5), raw_signature)


def test_pynacl_derives_the_same_public_key_from_the_seed():
    from nacl.signing import SigningKey

    nacl_key = SigningKey(base64.b64decode(SEED))
    ours = signing.load_key(SEED)
    assert bytes(nacl_key.verify_key) == base64.b64decode(signing.public_key_b64(ours))
    payload = signing.canonical_payload(sample_message())
    # Ed25519 is deterministic: both libraries give the very same signature.
    assert base64.b64encode(nacl_key.sign(payload).signature).decode() == signing.sign(
        ours, payload
    )


def test_signer_from_settings_prefers_the_configured_key(tmp_path):
    signer = signing.signer_from_settings({"ENV": "production", "SIGNING_KEY": SEED}, tmp_path)
    assert signer.key_id == signing.key_id(signing.load_key(SEED))
    assert not (tmp_path / "signing-key.b64").exists()


def test_signer_from_settings_uses_the_dev_key_outside_production(tmp_path):
    first = signing.signer_from_settings({"ENV": "development", "SIGNING_KEY": ""}, tmp_path)
    again = signing.signer_from_settings({"ENV": "testing", "SIGNING_KEY": ""}, tmp_path)
    assert (tmp_path / "signing-key.b64").exists()
    assert first.key_id == again.key_id


def test_signer_from_settings_refuses_production_without_a_key(tmp_path):
    with pytest.raises(ValueError, match="ALERTS_SIGNING_KEY is not set"):
        signing.signer_from_settings({"ENV": "production", "SIGNING_KEY": ""}, tmp_path)
    assert not (tmp_path / "signing-key.b64").exists()


def test_signer_from_settings_names_a_malformed_key(tmp_path):
    with pytest.raises(ValueError, match="ALERTS_SIGNING_KEY"):
        signing.signer_from_settings({"ENV": "development", "SIGNING_KEY": "abc"}, tmp_path)


def test_another_identifier_gives_another_payload_and_signature():
    signer = signing.Signer.from_seed(SEED)
    first = signer.sign_message(sample_message())
    moved = signer.sign_message(replace(sample_message(), identifier="canhbao:7.9"))
    assert first.payload != moved.payload and first.signature != moved.signature
