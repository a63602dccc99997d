"""eSMS.vn calling back: delivery reports and residents' SMS to the keyword
(../shared/channels-inbound.md §4.1, §4.2).

Both come as HTTP GET with every field in the query string, to the URL of the account
``/hooks/sms/<account id>/<callback_token>``: eSMS signs no delivery report, so the secret
token in the path (the account's ``callback_token``, compared in constant time) is the only
proof that a report comes from the gateway we gave that URL to (§4.1). The sender puts the
same URL in every request's ``CallbackUrl`` (``alerts.channels.sms``).

- A delivery report (``SMSID``, ``SendStatus``) becomes a RECEIPT on the delivery eSMS
  answered that SMSID for: status 5 with a success "delivered", with a failure "failed",
  status 4 (the gateway rejected the brandname or template) "failed"; the waiting states
  1, 2 and 7 are noted. The key is SMSID and status, so eSMS's repeats change nothing.
- An inbound SMS (``sender``, ``content``, ``smsid``, ``sign``...) also carries eSMS's own
  signature, base64(MD5(cpid + smsid + content + receiverTime + PrivateKey)), checked in
  constant time with the account's ``mo_private_key``; ``cpid`` must be the account's own
  and ``receiverTime`` recent. It becomes a MESSAGE keyed by ``smsid``, answered with the
  XML ``ClientResponse`` eSMS expects. Its ``Message`` is empty: the answer goes back
  before the worker reads the keyword, so the reply (``alerts.residents.sms_keywords``)
  goes out as a brandname SMS of its own, under the caps per destination.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from datetime import timedelta
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from alerts.channels import Account
from alerts.inbound import Accepted
from alerts.inbound import Answer
from alerts.inbound import Call
from alerts.inbound import Event
from alerts.inbound import Kind
from alerts.inbound import Refusal

CHANNEL = "sms"
GET_EVENTS = True  # eSMS calls back with GET: the inbox reads a GET as events, not a handshake
TOKEN = "callback_token"  # the account's secret, the last segment of its CallbackUrl
PRIVATE_KEY = "mo_private_key"  # eSMS's PrivateKey for the short code's inbound SMS
CPID = "cpid"  # the account's setting: our CP id at eSMS
MAX_AGE = timedelta(hours=24)  # an inbound SMS older than this (or as far ahead) is stale
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")  # receiverTime is Vietnam's local time
OK = Answer(200, "ok")
BAD = Answer(400, "bad request")
_WAITING = {"1": "awaiting approval", "2": "waiting to send", "7": "sent to the carrier"}
_MO_FIELDS = ("sender", "content", "smsid", "cpid", "receiverTime", "sign")


def receive(account: Account, call: Call) -> Accepted | Refusal:
    """Check the URL's token, then read a delivery report or an inbound SMS."""
    ours = account.secrets.get(TOKEN, "")
    if not ours or not hmac.compare_digest(ours.encode(), call.token.encode()):
        return Refusal("wrong or missing URL token")
    if call.query.get("SMSID"):
        return _report(call.query)
    if all(call.query.get(name) for name in _MO_FIELDS):
        return _inbound(account, call)
    return Refusal("neither a delivery report nor an inbound SMS", BAD)


def _count(query, name: str) -> int:
    value = str(query.get(name) or "0")
    return int(value) if value.isdigit() else 0


def _report(query) -> Accepted | Refusal:
    """One delivery report (§4.1): the SMSID's receipt, or a note while it waits."""
    sms_id, status = str(query["SMSID"])[:100], str(query.get("SendStatus") or "")
    if not status.isdigit():
        return Refusal("a delivery report without SendStatus", BAD)
    key = f"dlr:{sms_id}:{status}"
    if status == "5" and _count(query, "SendSuccess") >= 1:
        receipt = {"provider_id": sms_id, "state": "delivered", "detail": "eSMS: delivered"}
    elif status == "5" and _count(query, "SendFailed") >= 1:
        detail = "eSMS: the carrier reported it undelivered (SendStatus 5, SendFailed)"
        receipt = {"provider_id": sms_id, "state": "failed", "detail": detail}
    elif status == "4":
        detail = "eSMS: rejected by the gateway (SendStatus 4: brandname or template)"
        receipt = {"provider_id": sms_id, "state": "failed", "detail": detail}
    else:
        note = _WAITING.get(status, f"SendStatus {status}")
        return Accepted((Event(key, Kind.OTHER, None, {"provider_id": sms_id, "note": note}),), OK)
    return Accepted((Event(key, Kind.RECEIPT, None, receipt),), OK)


def signature(cpid: str, sms_id: str, content: str, received: str, private_key: str) -> str:
    """Return eSMS's ``sign`` of an inbound SMS (§4.2): base64 of the raw MD5 digest of
    the fields with the secret last. MD5 with a secret suffix is weak: it is eSMS's design."""
    joined = f"{cpid}{sms_id}{content}{received}{private_key}".encode()
    return base64.b64encode(hashlib.md5(joined, usedforsecurity=False).digest()).decode()


def _inbound(account: Account, call: Call) -> Accepted | Refusal:
    """One resident's SMS to the short code (§4.2), signed by eSMS."""
    query = call.query
    private_key = account.secrets.get(PRIVATE_KEY, "")
    if not private_key:
        return Refusal("no inbound SMS key configured for this account")
    ours = (account.settings.get(CPID) or "").encode()
    if not ours or not hmac.compare_digest(str(query["cpid"]).encode(), ours):
        return Refusal("inbound SMS for another CP id")
    expected = signature(
        query["cpid"], query["smsid"], query["content"], query["receiverTime"], private_key
    )
    if not hmac.compare_digest(expected.encode(), str(query["sign"]).encode()):
        return Refusal("wrong inbound SMS signature")
    try:
        sent = datetime.strptime(query["receiverTime"], "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)
    except ValueError:
        return Refusal("inbound SMS with an unreadable receiverTime", BAD)
    if abs(call.received - sent) > MAX_AGE:
        return Refusal("stale inbound SMS")
    sms_id, sender = str(query["smsid"])[:100], str(query["sender"])[:20]
    data = {"text": str(query["content"])[:480], "service": str(query.get("serviceNumber", ""))}
    event = Event(f"mo:{sms_id}", Kind.MESSAGE, sender, data)
    return Accepted((event,), _client_response(sms_id, sender))


def _client_response(sms_id: str, sender: str) -> Answer:
    body = (
        "<ClientResponse><Message></Message>"
        f"<Smsid>{escape(sms_id)}</Smsid><Receiver>{escape(sender)}</Receiver></ClientResponse>"
    )
    return Answer(200, body, "text/xml; charset=utf-8")
