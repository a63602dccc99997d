"""Ed25519 signatures over what a published warning says, so anyone can check it is ours.

Each published revision is signed over its canonical payload (``canonical_payload``); the
signature is stored with the revision and shown with the public key, so a newsroom, a
partner or a resident's app can verify a warning without trusting the channel it came by.
Publication refuses to go ahead when signing fails: nothing is published unsigned.

The private key is the 32-byte Ed25519 seed, base64-encoded, in ``ALERTS_SIGNING_KEY``.
Development and tests sign with a key file made once in the instance folder
(``instance/signing-key.b64``), so the demo keeps a stable key; production refuses to run
without a configured key. Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

from alerts.render import Message
from alerts.render.common import iso_vietnam

VERSION = "alerts-signature/1"
ALGORITHM = "Ed25519"
SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
DEV_KEY_FILE = "signing-key.b64"


def canonical_payload(message: Message) -> bytes:
    """Return the exact bytes signed for a published revision.

    How to re-create it (version "alerts-signature/1"):

    1. Build a JSON object with these members:

       - ``version``: "alerts-signature/1";
       - ``identifier``, ``sender``, ``msg_type`` ("Alert", "Update" or "Cancel"), ``code``
         (the verification code, 8 characters without the dash), ``issuer_code``,
         ``issuer_name`` and ``approver_name`` (null when there is none), as in the CAP
         document and on the verification page;
       - ``sent``: ISO 8601 in Vietnam time with seconds and the explicit offset,
         "2026-12-01T08:30:00+07:00" (the CAP ``<sent>``);
       - ``references``: a list, in CAP order, of ``{"sender", "identifier", "sent"}`` for the
         messages this one updates or cancels (``sent`` written as above); [] for an Alert;
       - ``regions``: the list of targeted region codes ("01", "00070"; "vn" for the nation),
         in the order of the warning;
       - ``content``: every content field that reaches residents, exactly as stored:
         headline, description, instruction (and their ``_en`` forms), category,
         warning_type, severity, urgency, certainty, mode, regions, channels, link, image
         (the SHA-256 hex of the image, or null), indicators (``phones``, ``accounts``,
         ``links``), and the times ``publish_at`` (or null) and ``expires_at`` as stored:
         UTC text such as "2026-12-08T01:30:00+00:00";
       - ``cancel_reason``: only for a Cancel, the reason given to residents.

    2. Normalise every string (keys and values) to Unicode NFC.
    3. Serialise with the keys of every object sorted (all keys are ASCII, so by byte),
       no whitespace between tokens (separators "," and ":"), and non-ASCII characters
       written as themselves, not as ``\\u`` escapes. Strings escape only ``"`` and ``\\``
       and the control characters below U+0020 (``\\b \\f \\n \\r \\t``, the others as
       ``\\u00xx`` in lower-case hex). There are no numbers. For this data the result is
       the RFC 8785 (JCS) form, and it is what Python's
       ``json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` gives.
    4. Encode as UTF-8. The Ed25519 signature is over these bytes.
    """
    data = {
        "version": VERSION,
        "identifier": message.identifier,
        "sender": message.sender,
        "sent": iso_vietnam(message.sent),
        "msg_type": message.msg_type,
        "references": [
            {"sender": r.sender, "identifier": r.identifier, "sent": iso_vietnam(r.sent)}
            for r in message.references
        ],
        "code": message.code,
        "issuer_code": message.issuer_code,
        "issuer_name": message.issuer_name,
        "approver_name": message.approver_name,
        "regions": [region.code for region in message.regions],
        "content": message.content.as_dict(),
    }
    if message.msg_type == "Cancel":
        data["cancel_reason"] = message.cancel_reason
    text = json.dumps(_nfc(data), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def _nfc(value: object) -> object:
    """Return JSON-able data with every string, keys included, in Unicode NFC."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nfc(v) for v in value]
    return value


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard base64 strictly; raise ValueError naming ``what``."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not valid base64") from exc


def load_key(seed_b64: str) -> Ed25519PrivateKey:
    """Return the private key from the base64 of its 32-byte seed; ValueError if malformed."""
    if not isinstance(seed_b64, str) or not seed_b64.strip():
        raise ValueError("the signing key is empty")
    seed = _b64decode(seed_b64, "the signing key")
    if len(seed) != SEED_BYTES:
        raise ValueError(
            f"the signing key must be the base64 of a {SEED_BYTES}-byte Ed25519 seed "
            f"(got {len(seed)} bytes)"
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_seed() -> str:
    """Return a fresh random seed, base64-encoded (what ALERTS_SIGNING_KEY holds)."""
    return base64.b64encode(secrets.token_bytes(SEED_BYTES)).decode("ascii")


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """Return the raw 32-byte public key (of a private key, or of a public key itself)."""
    return _public(key).public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the raw public key in standard base64, as published for verifiers."""
    return base64.b64encode(public_key_bytes(key)).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the key's id: the first 16 hex characters of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    """Return the Ed25519 signature of ``payload`` in standard base64 (88 characters)."""
    return base64.b64encode(key.sign(payload)).decode("ascii")


def verify(public_key_b64: str, payload: bytes, signature_b64: str) -> bool:
    """Return whether ``signature_b64`` is a valid signature of ``payload`` by the key.

    Never raises for bad input: a malformed key, payload or signature is simply False.
    """
    if not isinstance(payload, bytes | bytearray):
        return False
    try:
        raw_key = _b64decode(public_key_b64, "the public key")
        raw_signature = _b64decode(signature_b64, "the signature")
    except (ValueError, AttributeError):
        return False
    if len(raw_key) != PUBLIC_KEY_BYTES or len(raw_signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_signature, bytes(payload))
    except (InvalidSignature, ValueError):
        return False
    return True


def dev_key(path: Path) -> str:
    """Return the base64 seed kept in ``path``, creating it (mode 0600) the first time.

    For development and the demo only, so that their signatures stay checkable across
    restarts. A file that exists but does not hold a valid seed raises ValueError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = new_seed()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        seed = path.read_text(encoding="ascii").strip()
    else:
        with os.fdopen(descriptor, "w", encoding="ascii") as f:
            f.write(seed + "\n")
    try:
        load_key(seed)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return seed


@dataclass(frozen=True)
class Signature:
    """A signed revision: the key's id, the exact payload bytes and the base64 signature."""

    key_id: str
    payload: bytes
    signature: str
    algorithm: str = ALGORITHM


@dataclass(frozen=True)
class Signer:
    """The private key that signs published revisions, with its key id."""

    private_key: Ed25519PrivateKey
    key_id: str

    @classmethod
    def from_seed(cls, seed_b64: str) -> Signer:
        """Return a signer for a base64 seed; ValueError if malformed."""
        key = load_key(seed_b64)
        return cls(key, key_id(key))

    @property
    def public_key_b64(self) -> str:
        """The public key in standard base64, as published for verifiers."""
        return public_key_b64(self.private_key)

    def sign_message(self, message: Message) -> Signature:
        """Return the signature of the message's canonical payload."""
        payload = canonical_payload(message)
        return Signature(self.key_id, payload, sign(self.private_key, payload))


def signer_from_settings(settings: Mapping, instance_path: Path) -> Signer:
    """Return the signer the settings call for; ValueError when there is none to use.

    ALERTS_SIGNING_KEY when set; otherwise, in development and testing, the key file
    ``instance/signing-key.b64`` (made on first use); in production a missing key is refused,
    since a key made on the fly could not be published ahead of time nor survive a rebuild.
    """
    seed = settings.get("SIGNING_KEY") or ""
    if seed:
        try:
            return Signer.from_seed(seed)
        except ValueError as exc:
            raise ValueError(f"ALERTS_SIGNING_KEY: {exc}") from None
    if settings.get("ENV") == "production":
        raise ValueError(
            "ALERTS_SIGNING_KEY is not set: production signs every published warning with "
            "a configured Ed25519 key (base64 of a 32-byte seed) and publishes nothing unsigned"
        )
    return Signer.from_seed(dev_key(Path(instance_path) / DEV_KEY_FILE))
