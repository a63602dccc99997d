"""The Facebook Page's webhook: Meta's verify-token handshake, then signed notifications
(../shared/channels-inbound.md §2).

- **Handshake** (§2.3): Meta GETs ``hub.mode=subscribe``, ``hub.verify_token`` (the string
  entered in the App Dashboard: the account's ``verify_token`` secret, compared in constant
  time) and ``hub.challenge``, echoed bare as text; anything else gets 403.
- **Notifications** (§2.4, §2.7): ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of
  the raw bytes keyed with the app's secret (``app_secret``), compared in constant time.
  Meta signs the escaped-unicode body it sent, so only the bytes as received verify.
  ``object`` must be ``page`` and every entry for the account's ``page_id``: a valid
  signature for another Page is a forgery for us. The signature has no timestamp, so a
  replay is recognised by the events' keys, and an entry older than Meta retries (36 hours,
  §2.6) plus a margin is refused.
- **Events**: a resident's message (MESSAGE, keyed by its ``mid``; its text kept as text, its
  attachments by type only, no link followed), a button's postback (CALLBACK), a comment on
  the Page's posts (MESSAGE from the commenter), and the receipts of our messages to a
  resident: ``delivery`` names the ``mids`` delivered and a watermark, ``read`` a watermark
  alone; each covers every message to that PSID sent up to it
  (``alerts.delivery.watermarks``). Our own sends echoed (``is_echo``) and our own comments
  are skipped. Meta documents no block or opt-out event for Pages, so nothing here pauses.

Messenger is a reply channel: the Page may answer a resident only within 24 hours of their
last message (§2.5), so a message's data carries ``reply_until``. Meta wants 200 within
5 seconds and unsubscribes the app after an hour of failures: the inbox answers as soon as
the events are stored, and the worker applies them.

Account: setting ``page_id``; secrets ``app_secret`` and ``verify_token``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from alerts.channels import Account
from alerts.inbound import Accepted
from alerts.inbound import Answer
from alerts.inbound import Call
from alerts.inbound import Event
from alerts.inbound import Kind
from alerts.inbound import Refusal

CHANNEL = "facebook"
APP_SECRET = "app_secret"  # the Meta app's secret: the key of X-Hub-Signature-256
VERIFY_TOKEN = "verify_token"  # the token entered beside the callback URL in the dashboard
HEADER = "x-hub-signature-256"
MAX_AGE = timedelta(hours=36 + 12)  # Meta retries for 36 hours; a margin for its clock
REPLY_WINDOW = timedelta(hours=24)  # the standard messaging window (§2.5)
FORBIDDEN = Answer(403, "forbidden")
BAD = Answer(400, "bad request")
OK = Answer(200, "EVENT_RECEIVED")


def handshake(account: Account, call: Call) -> Answer:
    """Answer Meta's verification request: the challenge echoed, or 403."""
    ours = account.secrets.get(VERIFY_TOKEN, "")
    presented = str(call.query.get("hub.verify_token", ""))
    challenge = str(call.query.get("hub.challenge", ""))
    if call.query.get("hub.mode") != "subscribe" or not ours:
        return FORBIDDEN
    if not hmac.compare_digest(ours.encode(), presented.encode()):
        return FORBIDDEN
    if not (challenge.isascii() and challenge.isdigit() and len(challenge) <= 32):
        return BAD  # Meta sends an integer: anything else is not echoed back
    return Answer(200, challenge)


def signature(app_secret: str, body: bytes) -> str:
    """Return the ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def receive(account: Account, call: Call) -> Accepted | Refusal:
    """Check the signature and the Page, then read every entry into events."""
    secret = account.secrets.get(APP_SECRET, "")
    if not secret:
        return Refusal("no app secret configured for this account")
    presented = call.headers.get(HEADER, "")
    if not presented:
        return Refusal("missing signature")
    if not hmac.compare_digest(signature(secret, call.body).encode(), presented.encode()):
        return Refusal("wrong signature")
    try:
        payload = json.loads(call.body)
    except ValueError:
        return Refusal("not JSON", BAD)
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return Refusal("not a Page notification", BAD)
    entries = payload.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return Refusal("not a Page notification", BAD)
    page = str(account.settings.get("page_id") or "")
    if not page or any(str(e.get("id")) != page for e in entries):
        return Refusal("an entry for another Page")
    if any(_stale(e.get("time"), call.received) for e in entries):
        return Refusal("stale entry")
    events = [event for e in entries for event in _entry_events(e, page)]
    return Accepted(tuple(events), OK)


def moment(value: object) -> datetime | None:
    """Read Meta's epoch time: milliseconds in Messenger events, seconds in ``feed``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC)


def _stale(value: object, received: datetime) -> bool:
    at = moment(value)
    return at is None or received - at > MAX_AGE


def _entry_events(entry: dict, page: str) -> list[Event]:
    """Messenger's ``messaging[]`` in timestamp order (Meta does not keep it), then the
    Graph ``changes[]``."""
    messaging = [m for m in entry.get("messaging") or [] if isinstance(m, dict)]
    messaging.sort(key=lambda m: m.get("timestamp") if isinstance(m.get("timestamp"), int) else 0)
    events = [e for m in messaging if (e := _messaging_event(m, page)) is not None]
    changes = [c for c in entry.get("changes") or [] if isinstance(c, dict)]
    return events + [e for c in changes if (e := _change_event(c, page)) is not None]


def _psid(party: object) -> str | None:
    ident = party.get("id") if isinstance(party, dict) else None
    return str(ident)[:64] if isinstance(ident, str | int) and str(ident).isdigit() else None


def _messaging_event(item: dict, page: str) -> Event | None:
    """One Messenger event; None for our own echo or a sender that is not a resident."""
    sender = _psid(item.get("sender"))
    if sender is None or sender == page:
        return None
    for name, read in _MESSAGING.items():
        if isinstance(item.get(name), dict):
            return read(item[name], sender, item)
    return Event(_digest("messaging", item), Kind.OTHER)


def _message(message: dict, sender: str, item: dict) -> Event | None:
    if message.get("is_echo"):
        return None
    mid = str(message["mid"])[:150]
    at = moment(item.get("timestamp"))
    attached = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    data = {
        "text": str(message.get("text") or "")[:2000],
        "attachments": [str(a.get("type", "?"))[:20] for a in attached][:10],  # no URL kept
        "quick_reply": str((message.get("quick_reply") or {}).get("payload") or "")[:1000],
        "reply_until": (at + REPLY_WINDOW).isoformat(timespec="seconds") if at else "",
    }
    return Event(f"mid:{mid}", Kind.MESSAGE, sender, data)


def _postback(postback: dict, sender: str, item: dict) -> Event:
    data = {
        "payload": str(postback.get("payload") or "")[:1000],
        "title": str(postback.get("title") or "")[:100],
    }
    key = f"postback:{postback['mid']}" if postback.get("mid") else _digest("postback", item)
    return Event(key[:200], Kind.CALLBACK, sender, data)


def _receipt(state: str):
    """Read a ``delivery`` (mids and watermark) or ``read`` (watermark) receipt."""

    def read(receipt: dict, sender: str, item: dict) -> Event:
        at = moment(receipt.get("watermark"))
        if at is None:
            raise ValueError("a receipt without its watermark")
        mids = sorted(str(m)[:150] for m in receipt.get("mids") or [] if isinstance(m, str))
        detail = f"Messenger: {state}"
        data = {"state": state, "watermark": at.isoformat(), "mids": mids, "detail": detail}
        key = f"{state}:{sender}:{receipt['watermark']}"
        if mids:
            key += ":" + hashlib.sha256("\n".join(mids).encode()).hexdigest()[:16]
        return Event(key, Kind.RECEIPT, sender, data)

    return read


_MESSAGING = {
    "message": _message,
    "postback": _postback,
    "delivery": _receipt("delivered"),
    "read": _receipt("read"),
}


def _change_event(change: dict, page: str) -> Event | None:
    """A Graph ``feed`` change: a resident's new comment is a MESSAGE, the rest noted."""
    value = change.get("value")
    if change.get("field") != "feed" or not isinstance(value, dict):
        return Event(_digest("change", change), Kind.OTHER)
    author = _psid(value.get("from"))
    if author == page:
        return None  # our own reply under a post
    if value.get("item") == "comment" and value.get("verb") == "add" and author:
        data = {
            "text": str(value.get("message") or "")[:2000],
            "post_id": str(value.get("post_id") or "")[:100],
            "comment_id": str(value["comment_id"])[:100],
        }
        return Event(f"comment:{value['comment_id']}"[:200], Kind.MESSAGE, author, data)
    return Event(_digest("feed", value), Kind.OTHER)


def _digest(prefix: str, item: dict) -> str:
    """A key for an event Meta gives no id: the same event re-delivered has the same one."""
    canonical = json.dumps(item, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return f"{prefix}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"
