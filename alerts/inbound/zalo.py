"""Zalo Official Account webhooks: follows, residents' texts, receipts (../shared/
channels-inbound.md §1).

The proof of origin is ``X-ZEvent-Signature: mac=<hex sha256(app_id ‖ raw body ‖ timestamp
‖ OA secret key)>`` (§1.3): a plain SHA-256, not an HMAC, over the exact bytes received and
the ``timestamp`` field inside them, with the OA secret key (the account's
``oa_secret_key``, not the app secret). It is compared in constant time; then ``app_id``
must be the account's and the OA named by the event (``recipient`` of a user's message,
either side of a receipt, ``oa_id`` of a follow) must be the account's ``oa_id`` setting:
a valid signature for someone else's OA is a forgery for us. Zalo re-sends a failed event
with its original timestamp for about 2 hours, so events up to ``WINDOW`` old are taken and
recognised by their key (the ``msg_id``, else event, user and timestamp).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from alerts.channels import Account
from alerts.clock import to_text
from alerts.inbound import Accepted
from alerts.inbound import Answer
from alerts.inbound import Call
from alerts.inbound import Event
from alerts.inbound import Kind
from alerts.inbound import Refusal

CHANNEL = "zalo"
SECRET = "oa_secret_key"  # the OA secret key shown per linked OA in the app's console
HEADER = "x-zevent-signature"
WINDOW = timedelta(hours=3)  # how old an event may be (Zalo's retries last about 2 h)
AHEAD = timedelta(minutes=5)  # clocks differ: an event this far in the future is taken
UNAUTHORIZED = Answer(401, "unauthorized")
BAD = Answer(400, "bad request")
_MAC = re.compile(r"mac=([0-9a-f]{64})")


def receive(account: Account, call: Call) -> Accepted | Refusal:
    """Check the signature, the app, the timestamp and the OA, then read the event."""
    found = _MAC.fullmatch(call.headers.get(HEADER, "").strip().lower())
    if found is None:
        return Refusal("missing or malformed Zalo signature", UNAUTHORIZED)
    try:
        body = json.loads(call.body)
        stamp = body["timestamp"]
    except (ValueError, TypeError, KeyError):
        return Refusal("not a Zalo event", BAD)
    if not isinstance(stamp, str) or not stamp.isdigit():
        return Refusal("not a Zalo event", BAD)
    app_id, secret = str(account.settings.get("app_id", "")), account.secrets.get(SECRET, "")
    expected = hashlib.sha256(app_id.encode() + call.body + stamp.encode() + secret.encode())
    if not secret or not hmac.compare_digest(found[1], expected.hexdigest()):
        return Refusal("wrong Zalo signature", UNAUTHORIZED)
    if str(body.get("app_id", "")) != app_id:
        return Refusal("Zalo event for another app")
    sent = datetime.fromtimestamp(int(stamp) / 1000, UTC)
    if not call.received - WINDOW <= sent <= call.received + AHEAD:
        return Refusal("stale Zalo event")
    oa_id = str(account.settings.get("oa_id", ""))
    if not oa_id or oa_id not in _named_oas(body):
        return Refusal("Zalo event for another OA")
    return Accepted(_events(body, stamp))


def _id(body: dict, side: str) -> str:
    part = body.get(side)
    return str(part.get("id", "")) if isinstance(part, dict) else ""


def _named_oas(body: dict) -> set[str]:
    """The ids that may be our OA in this event, by its direction (§1.4): a receipt's
    direction is disputed between sources, so either side is taken there."""
    name = str(body.get("event_name", ""))
    if name in ("follow", "unfollow"):
        return {str(body.get("oa_id", ""))}
    if name.startswith("user_send_") or name == "user_submit_info":
        return {_id(body, "recipient")}
    if name.startswith("oa_send_"):
        return {_id(body, "sender")}
    return {_id(body, "sender"), _id(body, "recipient")} - {""}


def _events(body: dict, stamp: str) -> tuple[Event, ...]:
    name = str(body.get("event_name", ""))
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    if name in ("follow", "unfollow"):
        follower = body.get("follower") if isinstance(body.get("follower"), dict) else {}
        user = str(follower.get("id", "")) or None
        key = f"{name}:{user}:{stamp}"
        if name == "unfollow":
            return (Event(key, Kind.STOPPED, user, {"reason": "unfollowed the OA"}),)
        return (Event(key, Kind.RESUMED, user, {"followed": True}),)
    if name == "user_send_text":
        key = str(message.get("msg_id") or f"{name}:{_id(body, 'sender')}:{stamp}")
        text = str(message.get("text") or "")[:2000]
        return (Event(key, Kind.MESSAGE, _id(body, "sender") or None, {"text": text}),)
    if name == "user_received_message" and message.get("msg_id"):
        return (_receipt(str(message["msg_id"]), "delivered", stamp),)
    if name == "user_seen_message" and isinstance(message.get("msg_ids"), list):
        return tuple(_receipt(str(m), "read", stamp) for m in message["msg_ids"][:100] if m)
    user = _id(body, "sender") or str((body.get("follower") or {}).get("id", ""))
    return (Event(f"{name}:{user}:{stamp}"[:200], Kind.OTHER),)


def _receipt(message_id: str, state: str, stamp: str) -> Event:
    """A receipt names our message by the ``message_id`` the OA gave it (the sender stores
    it as the delivery's provider id)."""
    at = to_text(datetime.fromtimestamp(int(stamp) / 1000, UTC))
    detail = "Zalo: received" if state == "delivered" else "Zalo: seen"
    data = {"provider_id": message_id, "state": state, "detail": detail, "at": at}
    return Event(f"{state}:{message_id}", Kind.RECEIPT, None, data)
