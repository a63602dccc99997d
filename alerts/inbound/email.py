"""Bounces and complaints (../shared/channels-inbound.md §5): mail to our bounce address.

How they arrive. The bounce domain's MX (a mail-receiving service: Postfix piping to
``curl``, or an inbound-mail provider) answers 250 to every message after DATA (§5.5: a 5xx
would make the remote MTA bounce the bounce) and POSTs the raw message, exactly as
received, to ``/hooks/email/<account id>/<hook_token>``, the envelope recipient in the query
as ``?to=`` when it knows it. The token in the path (the account's ``hook_token``, compared
in constant time) proves the call comes from that service; a bounce itself is ordinary
unauthenticated mail, so what it says is trusted only through the VERP token of the address
it was sent to (§5.4): ``bounce+<digest>.<mac>@...``, the HMAC under the account's
``bounce_key`` (``alerts.channels.email``), which names the delivery's Message-ID and no
address. A report whose token does not verify is refused and audited (answered 200: the
relay must not retry it) and changes nothing.

What they mean, read with the standard library's ``email`` package:

- a DSN (RFC 3464 in a ``multipart/report``, RFC 6522): ``failed`` with a 5.x.x status is
  a RECEIPT "failed" with the status and the diagnostic; when the status says the address
  itself is gone (5.1.x, 5.2.0, 5.2.1, 5.4.4) also STOPPED, "the address bounced". Other
  5.x.x (5.7.x policy: usually our own DKIM or reputation; 5.2.2 mailbox full; 5.3.x) only
  fail that delivery (§5.2). ``delayed``, or a 4.x.x, is a soft bounce: a note, nothing
  else. ``delivered``/``relayed`` is a RECEIPT "delivered".
- a complaint (ARF, RFC 5965, ``message/feedback-report``) of type abuse, fraud or other:
  STOPPED, "complained of spam", at once (§5.3). Providers redact the complainant, so the
  token is read from the reported message's headers (its Return-Path, ``X-Alerts-Delivery``).

Events are keyed by the token's digest and what happened, so a relay's repeat changes
nothing. STOPPED names no address: the worker pauses whoever that delivery went to.
"""

from __future__ import annotations

import hmac
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.parser import HeaderParser

from alerts.channels import Account
from alerts.channels import email as sender
from alerts.inbound import Accepted
from alerts.inbound import Answer
from alerts.inbound import Call
from alerts.inbound import Event
from alerts.inbound import Kind
from alerts.inbound import Refusal

CHANNEL = "email"
TOKEN = "hook_token"  # the account's secret in the URL the mail-receiving service calls
BOUNCED = "the address bounced"
COMPLAINED = "complained of spam"
COMPLAINTS = frozenset({"abuse", "fraud", "other"})  # not virus, not auth-failure
OK = Answer(200, "ok")
IGNORED = Answer(200, "ignored")
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")
_GONE = {("1", None), ("2", "0"), ("2", "1"), ("4", "4")}  # (subject, detail); None: any


def receive(account: Account, call: Call) -> Accepted | Refusal:
    """Check the URL's token and the report's VERP token, then read the DSN or ARF."""
    ours = account.secrets.get(TOKEN, "")
    if not ours or not hmac.compare_digest(ours.encode(), call.token.encode()):
        return Refusal("wrong or missing URL token")
    message = BytesParser(policy=policy.default).parsebytes(call.body)
    key = account.secrets.get("bounce_key", "")
    digest = sender.bounced_digest(key, _addressed(call, message)) or sender.bounced_digest(
        key, _returned(message)
    )
    if digest is None:
        return Refusal("no bounce address with a valid token", IGNORED)
    domain = sender.sender_address(account.settings.get("from", "")).domain
    provider_id = sender.message_id_of(digest, domain)
    report = str(message.get_param("report-type", "", header="content-type")).lower()
    if message.get_content_type() == "multipart/report" and report == "delivery-status":
        events = _dsn(digest, provider_id, message)
    elif message.get_content_type() == "multipart/report" and report == "feedback-report":
        events = _complaint(digest, provider_id, message)
    else:
        events = (Event(f"{digest}:other", Kind.OTHER, None, {"note": "not a DSN nor ARF"}),)
    return Accepted(events, OK)


def _addressed(call: Call, message: EmailMessage) -> str:
    """Where the report was sent: the envelope recipient, else the headers naming it."""
    named = [call.query.get("to", "")]
    named += [str(message.get(h, "")) for h in ("Delivered-To", "X-Original-To", "To")]
    return "\n".join(named)


def _returned(message: EmailMessage) -> str:
    """What the report returns of our message: the DSN's ENVID, the message's headers (a
    complaint goes to our feedback address, not to the VERP address: its token comes back
    in the reported message's Return-Path and ``X-Alerts-Delivery``)."""
    found = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            found.append(part.get_content())
        elif kind == "message/delivery-status" and isinstance(part.get_payload(), list):
            found += [str(block) for block in part.get_payload()]
        elif kind == "message/rfc822" and isinstance(part.get_payload(), list):
            found.append("".join(f"{k}: {v}\n" for k, v in part.get_payload(0).items()))
    return "\n".join(found)[:64_000]


def _part(message: EmailMessage, content_type: str) -> EmailMessage | None:
    return next((p for p in message.walk() if p.get_content_type() == content_type), None)


def _recipient_block(message: EmailMessage) -> EmailMessage | None:
    """Return the first per-recipient block of the DSN's ``message/delivery-status``."""
    part = _part(message, "message/delivery-status")
    blocks = part.get_payload() if part is not None else []
    if not isinstance(blocks, list):
        return None
    return next((b for b in blocks[1:] if b.get("Action")), None)


def _dsn(digest: str, provider_id: str, message: EmailMessage) -> tuple[Event, ...]:
    """One delivery-status report: a receipt, a pause, or a note (see the module's doc)."""
    block = _recipient_block(message)
    if block is None:
        return (Event(f"{digest}:dsn", Kind.OTHER, None, {"note": "a DSN without a recipient"}),)
    action = str(block.get("Action", "")).strip().lower()
    found = _STATUS.search(str(block.get("Status", "")))
    status = found.group(0) if found else ""
    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
    detail = f"{status} {diagnostic}".strip()[:300]
    if action in ("delivered", "relayed"):
        receipt = {"provider_id": provider_id, "state": "delivered", "detail": detail}
        return (Event(f"{digest}:delivered", Kind.RECEIPT, None, receipt),)
    if action != "failed" or not status.startswith("5."):
        note = {"provider_id": provider_id, "note": f"soft bounce ({action}): {detail}"}
        return (Event(f"{digest}:soft:{status}", Kind.OTHER, None, note),)
    receipt = {"provider_id": provider_id, "state": "failed", "detail": f"bounced: {detail}"}
    events = [Event(f"{digest}:failed", Kind.RECEIPT, None, receipt)]
    if _address_gone(found):
        stop = {"provider_id": provider_id, "reason": BOUNCED}
        events.append(Event(f"{digest}:bounced", Kind.STOPPED, None, stop))
    return tuple(events)


def _address_gone(status: re.Match) -> bool:
    """Whether a permanent status says the mailbox itself is gone, not our message."""
    subject, detail = status.group(2), status.group(3)
    return (subject, None) in _GONE or (subject, detail) in _GONE


def _complaint(digest: str, provider_id: str, message: EmailMessage) -> tuple[Event, ...]:
    """One feedback report: a complaint stops that address at once (§5.3)."""
    part = _part(message, "message/feedback-report")
    fields = HeaderParser().parsestr(_text(part)) if part is not None else {}
    kind = str(fields.get("Feedback-Type", "")).strip().lower()
    if kind not in COMPLAINTS:
        note = {"provider_id": provider_id, "note": f"feedback report {kind[:20] or 'unknown'}"}
        return (Event(f"{digest}:feedback:{kind[:20]}", Kind.OTHER, None, note),)
    stop = {"provider_id": provider_id, "reason": COMPLAINED}
    return (Event(f"{digest}:complaint", Kind.STOPPED, None, stop),)


def _text(part: EmailMessage) -> str:
    """The feedback report's fields as text (the parser may give a string or header blocks)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "".join(str(p) for p in payload)
    return str(payload)
