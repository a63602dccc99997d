"""What the channels send back, from the endpoint to its effect (issue 15).

``take`` runs in the web request: the channel's receiver (``alerts.inbound``) checks the
call, each event is sealed with the data key and stored once (a platform's re-delivery
of the same event id changes nothing), and the platform gets its answer within its time
limit. A refused call is audited and changes nothing else.

``apply_waiting`` runs in the worker: each stored event is applied in its own transaction
by the handler of its (channel, kind), so a receipt, a pause and the reply it queues
commit together or not at all. An event whose handler fails is retried on the next ticks,
then set aside as ``failed`` with the reason: one bad event never blocks the inbox.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts import inbound
from alerts.channels import Account
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.delivery import receipts
from alerts.delivery import watermarks
from alerts.errors import Refused
from alerts.inbound import Answer
from alerts.inbound import Call
from alerts.inbound import Event
from alerts.inbound import Kind
from alerts.reports import chat as report_chat
from alerts.residents import chat
from alerts.residents import sms_keywords
from alerts.residents import subscriptions
from alerts.residents.addresses import normalise_address
from alerts.residents.chat_replies import Chat
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import inbound as store
from alerts.store import receipts as receipt_store
from alerts.store.accounts import StoredAccount

log = logging.getLogger(__name__)

NOT_FOUND = Answer(404, "not found")
TRIES = 5  # attempts at applying one event before it is set aside as failed
BATCH = 500  # events applied per tick at most (a tick every 2 s: 250/s sustained)
BODY_KEPT = timedelta(days=7)  # what a resident sent, kept after it was applied
KEYS_KEPT = timedelta(days=30)  # event ids, kept to recognise a late re-delivery


@dataclass(frozen=True)
class Context:
    """What a handler gets: the account the event came to, the event, and when."""

    account: StoredAccount
    event: Event
    received_at: str
    now: datetime


Handler = Callable[[sqlite_utils.Database, Mapping, Context], str]


def _opened(config: Mapping, stored: StoredAccount) -> Account | None:
    try:
        secrets = vault.unseal(config, stored.secrets)
    except vault.VaultError:
        return None
    return Account(stored.id, stored.channel, stored.base_url, stored.settings, secrets)


def _refuse(db, channel: str, account_id: int, reason: str, ip: str | None) -> None:
    """Audit a refused call: the channel, the account and why, nothing the caller sent."""
    detail = {"channel": channel, "account": account_id, "reason": reason}
    with write(db):
        entry = audit.make_entry(
            audit.Actor("anonymous", None, ip), "hook.refused", f"account:{account_id}", detail
        )
        audit_store.append(db, entry)


def take(
    db: sqlite_utils.Database,
    config: Mapping,
    channel: str,
    account_id: int,
    call: Call,
    ip: str | None = None,
) -> Answer:
    """Check one inbound call and store its events; return the answer for the platform.

    A storage failure propagates (the web layer answers 503, and the platform retries)."""
    receiver = inbound.receiver(channel)
    stored = account_store.get_account(db, account_id)
    if receiver is None or stored is None or stored.channel != channel or not stored.active:
        _refuse(db, channel, account_id, "no such account", ip)
        return NOT_FOUND
    account = _opened(config, stored)
    if account is None:
        _refuse(db, channel, account_id, "the account's secrets do not open", ip)
        return Answer(503, "unavailable")
    if call.method == "GET" and not getattr(receiver, "GET_EVENTS", False):
        answer = receiver.handshake(account, call) if hasattr(receiver, "handshake") else None
        if answer is None:
            _refuse(db, channel, account_id, "GET without a handshake", ip)
            return Answer(405, "method not allowed")
        if answer.status >= 400:  # a guessed verify token, a wrong mode, an odd challenge
            _refuse(db, channel, account_id, f"handshake refused ({answer.status})", ip)
        return answer
    try:
        verdict = receiver.receive(account, call)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # an odd payload
        verdict = inbound.Refusal(f"malformed: {type(error).__name__}", Answer(400, "bad request"))
    if isinstance(verdict, inbound.Refusal):
        _refuse(db, channel, account_id, verdict.reason, ip)
        return verdict.answer
    raw = call.body.decode("utf-8", "replace")
    sealed = [(e.key[:200], e.kind.value, _seal(config, e, raw)) for e in verdict.events]
    with write(db):
        store.insert(db, channel, account_id, sealed, to_text(call.received))
    return verdict.answer


def _seal(config: Mapping, event: Event, raw: str) -> bytes:
    """Seal what the resident sent: their address, the event's data and the raw body
    (kept to re-read an event if a handler was wrong, dropped with the rest later)."""
    return vault.seal(config, {"sender": event.sender, "data": dict(event.data), "raw": raw})


def _event(config: Mapping, row: store.Stored) -> Event:
    opened = vault.unseal(config, row.sealed) if row.sealed else {}
    return Event(row.event_key, Kind(row.kind), opened.get("sender"), opened.get("data") or {})


def _note(db, config, context: Context) -> str:
    """Nothing to do for this event: it stays on record."""
    return "noted"


def _pause(db, config, context: Context) -> str:
    """The resident blocked the bot, unfollowed the OA, bounced or complained: pause every
    subscription of that address on that channel, and nothing on any other channel."""
    event = context.event
    if not event.sender:
        return "no sender"
    reason = str(event.data.get("reason") or "stopped by the platform")[:200]
    paused = subscriptions.pause(db, context.account.channel, event.sender, reason, context.now)
    return f"paused {paused}"


def _pause_bounced(db, config, context: Context) -> str:
    """A hard bounce or a complaint names our message, not the address (providers redact
    it): pause whoever that delivery went to, on email only."""
    provider_id = str(context.event.data.get("provider_id") or "")
    address = receipt_store.resident_of(db, context.account.id, provider_id)
    if address is None:
        return "no such delivery"
    reason = str(context.event.data.get("reason") or "stopped by the platform")[:200]
    paused = subscriptions.pause(db, "email", address, reason, context.now)
    return f"paused {paused}"


def _sms_keyword(db, config, context: Context) -> str:
    """A resident's SMS to the gateway's keyword (DK, HUY ...)."""
    if not context.event.sender:
        return "no sender"
    text = str(context.event.data.get("text") or "")
    return sms_keywords.answer(
        db,
        config,
        account_id=context.account.id,
        phone=context.event.sender,
        text=text,
        now=context.now,
    )


def _chat(context: Context) -> Chat | None:
    """The resident's conversation an event belongs to, or None without a usable sender."""
    channel = context.account.channel
    try:
        address = normalise_address(channel, context.event.sender)
    except Refused:
        return None
    return Chat(channel, context.account.id, address, context.now)


def _chat_start(db, config, context: Context) -> str:
    """Telegram's ``/start <token>``: a subscribe-in-the-app link was opened."""
    found = _chat(context)
    token = str(context.event.data.get("token") or "")
    return chat.start(db, config, found, token) if found else "no sender"


def _chat_message(db, config, context: Context) -> str:
    """A resident wrote to the bot or the OA: a report (begun or going on), else the
    subscription conversation."""
    found = _chat(context)
    text = str(context.event.data.get("text") or "")
    if not found:
        return "no sender"
    return report_chat.answer(db, config, found, text) or chat.answer(db, config, found, text)


def _followed(db, config, context: Context) -> str:
    """A resident followed the Zalo OA: greeted, nothing subscribed."""
    found = _chat(context)
    return chat.followed(db, config, found) if found else "no sender"


# (channel, kind) -> handler; (None, kind) serves every channel without its own.
HANDLERS: dict[tuple[str | None, Kind], Handler] = {
    (None, Kind.RECEIPT): receipts.apply,
    (None, Kind.STOPPED): _pause,
    (None, Kind.RESUMED): _note,
    (None, Kind.OTHER): _note,
    (None, Kind.MESSAGE): _note,  # a channel without a conversation of its own
    (None, Kind.CALLBACK): _note,
    ("sms", Kind.MESSAGE): _sms_keyword,
    ("telegram", Kind.START): _chat_start,
    ("telegram", Kind.MESSAGE): _chat_message,
    ("zalo", Kind.MESSAGE): _chat_message,
    ("zalo", Kind.RESUMED): _followed,
    ("email", Kind.STOPPED): _pause_bounced,
    ("facebook", Kind.RECEIPT): watermarks.apply,
}


def _handler(channel: str, kind: Kind) -> Handler | None:
    return HANDLERS.get((channel, kind)) or HANDLERS.get((None, kind))


def apply_waiting(db: sqlite_utils.Database, config: Mapping, limit: int = BATCH) -> int:
    """Apply the events waiting in the inbox, oldest first; return how many were applied.
    A failing write (a full disk) propagates: the worker tries again on its next tick."""
    applied = 0
    for row in store.waiting(db, limit):
        applied += _apply(db, config, row)
    return applied


def _apply(db, config: Mapping, row: store.Stored) -> int:
    now = utcnow()
    account = account_store.get_account(db, row.account_id)
    try:
        handler = _handler(row.channel, Kind(row.kind))
        if handler is None:
            raise ValueError(f"no handler for {row.channel} {row.kind}")
        context = Context(account, _event(config, row), row.received_at, now)
        with write(db):
            outcome = handler(db, config, context)
            store.finish(db, row.id, "done", outcome, to_text(now))
        return 1
    except sqlite3.Error:
        raise
    except (Refused, ValueError, vault.VaultError) as error:  # the event itself cannot apply
        detail = str(error)
        status = "failed"
    except Exception as error:  # a bug: logged with its trace, retried, then set aside
        log.exception("Could not apply inbound event %s", row.id)
        detail = f"{type(error).__name__}: {error}"
        status = "failed" if row.attempts + 1 >= TRIES else "new"
    with write(db):
        if status == "failed":
            store.finish(db, row.id, "failed", detail, to_text(now))
        else:
            store.retry_later(db, row.id, detail)
    return 0


def forget_old(db: sqlite_utils.Database, now: datetime | None = None) -> tuple[int, int]:
    """Drop residents' data from applied events after BODY_KEPT, whole events after
    KEYS_KEPT (platforms stop re-delivering within days: Telegram keeps updates 24 h)."""
    now = now or utcnow()
    with write(db):
        return store.forget(db, to_text(now - BODY_KEPT), to_text(now - KEYS_KEPT))
