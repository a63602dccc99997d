"""The secrets of residents' subscriptions, and the digests we keep of them instead.

Kept apart from the flows (``alerts.residents.subscriptions``) because the delivery engine needs the
unsubscribe links too, and because every key derivation should be read in one place.
Secrets are stored only as digests:

- the confirmation code as an HMAC keyed by the app's SECRET_KEY over channel, address and
  code (six digits alone would identify nothing and are cheap to reverse); the email link's
  256-bit token as its SHA-256;
- the unsubscribe/manage token of a subscription is *derived*, not drawn: an HMAC-SHA256 of
  its id under a key derived from SECRET_KEY. The engine recomputes it for every message
  without keeping a copy, and only its SHA-256 is stored, to find the subscription. Rotating
  SECRET_KEY changes the tokens of later messages (the engine stores their new digest as it
  sends), and the links in earlier messages stop working;
- rate-limit counters name a destination by an HMAC of channel and address, so the counters
  hold no phone number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from collections.abc import Mapping

import sqlite_utils

from alerts.store import subscriptions as store

# Every token is the unpadded URL-safe base64 of a SHA-256 digest: always 43 characters, so
# a placeholder of that length gives a preview every count of the real message.
TOKEN_LENGTH = 43


def _key(config: Mapping, purpose: str) -> bytes:
    secret = str(config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, f"alerts.subscriptions.{purpose}".encode(), hashlib.sha256).digest()


def mac(config: Mapping, purpose: str, message: str) -> str:
    """Return the hex HMAC-SHA256 of a message under the key derived for ``purpose``."""
    return hmac.new(_key(config, purpose), message.encode("utf-8"), hashlib.sha256).hexdigest()


def digest(text: str) -> str:
    """Return the hex SHA-256 of a token, as stored to find what it opens."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def token_for(config: Mapping, subscription_id: int) -> str:
    """Return the unsubscribe/manage token of a subscription (derived, never stored)."""
    raw = hmac.new(_key(config, "token"), str(subscription_id).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(raw.digest()).decode("ascii").rstrip("=")


def unsubscribe_url(config: Mapping, subscription_id: int) -> str:
    """Return the one-click unsubscribe address of a subscription."""
    return unsubscribe_link(config, token_for(config, subscription_id))


def unsubscribe_link(config: Mapping, token: str) -> str:
    """Return the one-click unsubscribe address of a token (a preview's placeholder too)."""
    return f"{config['PUBLIC_URL']}/unsubscribe/{token}"


def manage_url(config: Mapping, subscription_id: int) -> str:
    """Return the page where the resident sees and deletes their subscriptions."""
    return f"{config['PUBLIC_URL']}/subscriptions/{token_for(config, subscription_id)}"


def remember_tokens(db: sqlite_utils.Database, config: Mapping, ids: Iterable[int]) -> None:
    """Store the digest of each subscription's current token (the caller holds the write)."""
    store.set_token_hashes(db, [(i, digest(token_for(config, i))) for i in set(ids)])


def code_hash(config: Mapping, channel: str, address: str, code: str) -> str:
    """Return the stored form of a confirmation code sent to an address."""
    return mac(config, "code", f"{channel}\n{address}\n{code}")


def destination_key(config: Mapping, kind: str, channel: str, address: str) -> str:
    """Return the name of an address's ``kind`` counter ("dest" requests, "code" tries)."""
    return f"sub:{kind}:" + mac(config, "destination", f"{channel}\n{address}")[:32]
