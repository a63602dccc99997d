"""What a resident's SMS to the gateway's keyword does (issue 15): ``DK <commune>``
subscribes after a confirmation reply, ``HUY`` (or ``STOP``) stops.

The SMS comes from the resident's own phone, which the carrier names, so it proves the
number is theirs; the confirmation step guards against the other mistake, a commune read
wrongly from a few typed letters: ``DK hoan kiem`` is answered with the commune found and
"reply DK OK", and only ``DK OK`` from that number (within 24 hours) subscribes it. Several
candidates are answered with their codes, none with the help text; nothing is guessed.

Every answer is a notice (``queue_notice``: kinds "reply" and "welcome") on the SMS account
the message came to, in GSM-7 without diacritics, and counts against the caps per
destination (``alerts.residents.limits``): past them the resident's SMS still acts (a stop
always stops) but gets no answer. Addresses are masked in the audit; nothing is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import to_text
from alerts.errors import Refused
from alerts.render import gsm
from alerts.residents import subscriptions
from alerts.residents.addresses import mask
from alerts.residents.addresses import normalise_address
from alerts.residents.limits import TooMany
from alerts.residents.limits import guard
from alerts.residents.links import code_hash
from alerts.residents.notices import queue_notice
from alerts.residents.places import communes_named
from alerts.store import audit as audit_store
from alerts.store import subscriptions as store
from alerts.text import fold

SUBSCRIBE = "DK"
CONFIRM = frozenset({"OK", "CO", "XAC NHAN"})  # what may follow DK to confirm
CONFIRM_TTL = subscriptions.CONFIRM_TTL
REPLY_TTL = timedelta(hours=1)  # an answer that could not go out within this is dropped
HOW = "sms-keyword"
_GATEWAY = audit.Actor("sms-gateway", None, None)
HELP = (
    "Canh bao lua dao cua Cong an: soan DK <ma hoac ten xa, phuong> de dang ky,"
    " vi du DK 00070. Soan HUY de ngung nhan."
)


def answer(
    db: sqlite_utils.Database,
    config: Mapping,
    *,
    account_id: int,
    phone: str,
    text: str,
    now: datetime,
) -> str:
    """Act on one SMS a resident sent to the keyword; return what was done (for the inbox
    record, no address in it). Runs inside the caller's write."""
    try:
        address = normalise_address("sms", phone)
    except Refused:
        return "not a Vietnamese mobile number"
    if subscriptions.is_stop_keyword(text):
        return _stop(db, config, account_id, address, now)
    words = fold(gsm.visible(text)).upper().split()
    if words[:1] != [SUBSCRIBE]:
        return _reply(db, config, account_id, address, HELP, now)
    rest = " ".join(words[1:])
    if rest in CONFIRM:
        return _confirm(db, config, account_id, address, now)
    return _choose(db, config, account_id, address, rest, now)


def _pending_hash(config: Mapping, address: str) -> str:
    """The confirmation digest of a keyword request: no code to send, since only the
    number that asked can confirm (its own ``DK OK``)."""
    return code_hash(config, "sms", address, f"{SUBSCRIBE} OK")


def _choose(db, config, account_id: int, address: str, rest: str, now: datetime) -> str:
    """``DK <text>``: one commune found is held for confirmation, several are listed."""
    found = communes_named(db, rest) if rest else []
    if not found:
        return _reply(db, config, account_id, address, HELP, now, outcome="help")
    if len(found) > 1:
        listed = "; ".join(f"{r.code} {r.name}" for r in found)
        text = f"Co nhieu dia ban: {listed}. Soan DK <ma> de chon, vi du DK {found[0].code}."
        return _reply(db, config, account_id, address, text, now, outcome="candidates")
    region = found[0]
    try:
        guard(db, config, "sms", address, None, now)
    except TooMany:
        return "capped"
    store.request_pending(
        db,
        channel="sms",
        address=address,
        region_code=region.code,
        confirm_hash=_pending_hash(config, address),
        expires_at=to_text(now + CONFIRM_TTL),
        now=to_text(now),
    )
    detail = {"channel": "sms", "address": mask("sms", address), "regions": region.code}
    entry = audit.make_entry(_GATEWAY, "subscription.request", None, {**detail, "how": HOW})
    audit_store.append(db, entry)
    text = (
        f"Ban sap dang ky nhan canh bao cua Cong an cho {region.name} ({region.code})."
        " Soan DK OK de xac nhan trong 24 gio. Soan HUY de ngung nhan."
    )
    return _queue(db, account_id, address, "reply", text, now, f"asked to confirm {region.code}")


def _confirm(db, config, account_id: int, address: str, now: datetime) -> str:
    """``DK OK``: subscribe what this number asked for, then welcome it."""
    rows = store.awaiting(
        db, _pending_hash(config, address), to_text(now), channel="sms", address=address
    )
    if not rows:
        return _reply(db, config, account_id, address, HELP, now, outcome="nothing to confirm")
    try:
        subscriptions.subscribe_in_app(
            db,
            config,
            channel="sms",
            address=address,
            regions=[r.region_code for r in rows],
            how=HOW,
            now=now,
        )
    except TooMany:
        return "capped"
    names = ", ".join(r.region_name for r in rows)
    text = (
        f"Da dang ky nhan canh bao lua dao cua Cong an cho {names}."
        " Soan HUY de ngung nhan bat cu luc nao."
    )
    codes = ",".join(r.region_code for r in rows)
    return _queue(db, account_id, address, "welcome", text, now, f"subscribed {codes}")


def _stop(db, config, account_id: int, address: str, now: datetime) -> str:
    """``HUY``: the existing stop (every SMS subscription of the number ends), then a word."""
    ended = subscriptions.stop_keyword(db, address)
    if not ended:
        return "stopped 0"
    text = "Da ngung nhan canh bao cua Cong an qua SMS. Soan DK <ma xa, phuong> de dang ky lai."
    return _reply(db, config, account_id, address, text, now, outcome=f"stopped {ended}")


def _reply(db, config, account_id, address, text, now, *, outcome: str = "help") -> str:
    """Queue an answer if the number's caps allow one; return ``outcome`` (or "capped")."""
    try:
        guard(db, config, "sms", address, None, now)
    except TooMany:
        return f"{outcome}, capped"
    return _queue(db, account_id, address, "reply", text, now, outcome)


def _queue(db, account_id, address, kind: str, text: str, now, outcome: str) -> str:
    texts = ("", gsm.to_gsm7(text, extension=False), "")
    queue_notice(db, kind, "sms", account_id, address, texts, now, now + REPLY_TTL)
    return outcome
