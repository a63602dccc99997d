"""Standard Webhooks 1.0 signatures (symmetric "v1"), for the webhook channel.

Every delivery carries three headers: ``webhook-id`` (the same on every retry: the
receiver's idempotency key), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}`` with the
endpoint's secret, shown as ``whsec_<base64>``. During a secret rotation the header carries
several signatures separated by spaces, and a receiver accepts any one that matches.

Pure: the delivery engine calls ``sign_headers`` at send time, since the headers depend on
the endpoint's secret and on the moment of the attempt; ``verify`` is what a receiver (and
our tests) run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """Return a new endpoint secret: "whsec_" and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of a "whsec_<base64>" secret; ValueError if it is malformed.

    The prefix may be left out, as the reference libraries allow.
    """
    try:
        key = base64.b64decode(secret.strip().removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError, AttributeError) as exc:
        raise ValueError("a webhook secret must be whsec_ followed by base64") from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a webhook secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes "
            f"(got {len(key)})"
        )
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return one "v1,<base64>" signature of ``{msg_id}.{timestamp}.{body}``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_headers(
    secret: str,
    msg_id: str,
    timestamp: int,
    body: bytes,
    *,
    extra_secrets: Sequence[str] = (),
) -> dict[str, str]:
    """Return the webhook-id, webhook-timestamp and webhook-signature headers for ``body``.

    ``extra_secrets`` adds one signature per further secret (during a rotation, the old
    one), space-separated after the first. The id and the timestamp must not contain "."
    (the spec's separator); ValueError otherwise.
    """
    if not msg_id or "." in msg_id or any(c.isspace() for c in msg_id):
        raise ValueError("a webhook id must be non-empty, without '.' or spaces")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("a webhook timestamp must be whole Unix seconds")
    signatures = [signature(s, msg_id, timestamp, body) for s in (secret, *extra_secrets)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Return whether ``body`` with these headers was signed with ``secret`` recently.

    Header names are matched case-insensitively. Any one matching "v1" signature of a
    space-separated list is enough (other versions, such as "v1a", are skipped); each is
    compared in constant time. A timestamp more than ``tolerance`` seconds from ``now``
    (default: the current time), either way, is refused. Missing or malformed headers give
    False; only a malformed ``secret`` (our own configuration) raises ValueError.
    """
    key = secret_key(secret)
    lowered = {str(name).lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (isinstance(msg_id, str) and isinstance(stamp, str) and isinstance(signatures, str)):
        return False
    if not (stamp.isascii() and stamp.isdigit()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + bytes(body)
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    found = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode("utf-8")):
            found = True
    return found
