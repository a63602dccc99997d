"""Residents' subscriptions: double opt-in, one-click unsubscribe, the SMS stop keyword, and
as little personal data as possible.

A request for 1 to 10 communes or provinces creates pending rows and queues ONE notice on
the chosen channel (``notices``, sent by the delivery engine): a 6-digit code by SMS, Zalo or
Telegram, a link by email. Nothing is sent to a pending row (the outbox takes only active
ones); unconfirmed requests expire after 24 hours and are deleted. Every request,
confirmation and refusal is audited with the address masked.

This module holds the flows; beside it are what input is accepted
(``alerts.residents.addresses``), the secrets and their digests
(``alerts.residents.links``), the rate limits
(``alerts.residents.limits``) and the notices' wording (``alerts.residents.notices``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.errors import N_
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Region
from alerts.render import gsm
from alerts.residents.addresses import check_channel
from alerts.residents.addresses import chosen_regions
from alerts.residents.addresses import mask
from alerts.residents.addresses import normalise_address
from alerts.residents.limits import DEST_WINDOW
from alerts.residents.limits import WINDOW
from alerts.residents.limits import bump
from alerts.residents.limits import check_ip_limit
from alerts.residents.limits import count
from alerts.residents.limits import count_refusal
from alerts.residents.limits import guard
from alerts.residents.links import code_hash
from alerts.residents.links import destination_key
from alerts.residents.links import digest
from alerts.residents.links import manage_url
from alerts.residents.links import remember_tokens
from alerts.residents.notices import notice_account
from alerts.residents.notices import notice_texts
from alerts.residents.notices import queue_notice
from alerts.residents.welcome import queue_welcome
from alerts.store import audit as audit_store
from alerts.store import receipts as receipt_store
from alerts.store import subscriptions as store
from alerts.store import throttle as throttle_store

CONFIRM_TTL = timedelta(hours=24)
CODE_TRIES = 5  # wrong codes per address before its codes stop working
MANAGE_TTL = timedelta(hours=24)  # how long a "manage" notice may wait to go out
STOP_WORDS = frozenset({"STOP", "HUY", "TU CHOI", "TUCHOI"})
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")


@dataclass(frozen=True)
class Pending:
    """A request waiting for confirmation, as the resident may see it."""

    channel: str
    masked: str
    regions: tuple[str, ...]
    by_link: bool
    expires_at: str


@dataclass(frozen=True)
class Entry:
    """One subscription in a listing."""

    id: int
    region_code: str
    region_name: str
    status: str


@dataclass(frozen=True)
class Listing:
    """An address's subscriptions on one channel, the address masked."""

    channel: str
    masked: str
    entries: tuple[Entry, ...]


# --- audit ---------------------------------------------------------------------------------


def _refused(db, actor: audit.Actor, attempted: str, refusal: Refused, now: datetime) -> None:
    """Audit a refusal, and count it against the network (``subscription_limits``)."""
    with write(db):
        count_refusal(db, actor.ip, refusal, now)
        detail = {"attempted": attempted, **refusal.audit_detail()}
        _log(db, actor, "subscription.refused", None, **detail)


def _log(db, actor: audit.Actor, action: str, obj: str | None, **detail) -> None:
    audit_store.append(db, audit.make_entry(actor, action, obj, detail))


# --- the resident's flows ------------------------------------------------------------------


def request(
    db: sqlite_utils.Database,
    config: Mapping,
    *,
    channel: str,
    address: str,
    regions: Iterable[str],
    ip: str | None,
) -> Pending:
    """Take a subscription request: pending rows and one confirmation notice, or Refused
    (TooMany past the limits of ``alerts.residents.limits``)."""
    now, actor = utcnow(), audit.Actor("anonymous", None, ip)
    try:
        check_ip_limit(db, ip, now)
        channel = check_channel(channel)
        address = normalise_address(channel, address)
        found = chosen_regions(db, regions)
        account_id = notice_account(db, channel, found[0].code)
        if account_id is None:
            raise Refused(
                N_("This channel does not reach your area yet: choose another."), "channel"
            )
        with write(db):
            guard(db, config, channel, address, ip, now)
            return _open(db, config, actor, channel, address, found, account_id, now)
    except Refused as refusal:
        _refused(db, actor, "request", refusal, now)
        raise


def _open(db, config, actor, channel, address, found: list[Region], account_id, now) -> Pending:
    """Write the pending rows and queue the confirmation (inside the caller's write)."""
    expires = now + CONFIRM_TTL
    if channel == "email":
        secret = secrets.token_urlsafe(32)
        confirm_hash, url = digest(secret), f"{config['PUBLIC_URL']}/subscribe/confirm/{secret}"
    else:
        secret = f"{secrets.randbelow(10**6):06d}"
        confirm_hash, url = code_hash(config, channel, address, secret), ""
    ids = [
        store.request_pending(
            db,
            channel=channel,
            address=address,
            region_code=region.code,
            confirm_hash=confirm_hash,
            expires_at=to_text(expires),
            now=to_text(now),
        )
        for region in found
    ]
    remember_tokens(db, config, ids)
    # a new code starts with no wrong tries
    throttle_store.clear_counter(db, destination_key(config, "code", channel, address))
    places = ", ".join(r.name for r in found)
    texts = notice_texts("confirm", channel, secret, url, places)
    notice_id = queue_notice(db, "confirm", channel, account_id, address, texts, now, expires)
    codes = tuple(r.code for r in found)
    masked = mask(channel, address)
    detail = {"channel": channel, "address": masked, "regions": ",".join(codes)}
    _log(db, actor, "subscription.request", f"notice:{notice_id}", **detail)
    return Pending(channel, masked, codes, channel == "email", to_text(expires))


def confirm(
    db: sqlite_utils.Database,
    config: Mapping,
    token_or_code: str,
    *,
    channel: str | None = None,
    address: str | None = None,
    ip: str | None = None,
    lang: str = "vi",
) -> Listing:
    """Activate what a confirmation link (alone) or a code (with channel and address)
    confirms, and queue the welcome (``alerts.residents.welcome``) in ``lang``; Refused when
    it is wrong, expired or tried too often."""
    now, actor = utcnow(), audit.Actor("anonymous", None, ip)
    try:
        if channel is None:
            token = (token_or_code or "").strip()
            valid = _LINK_TOKEN.fullmatch(token) is not None
            rows = store.awaiting(db, digest(token), to_text(now)) if valid else []
            if not rows:
                raise Refused(N_("This link is not valid or has expired. Subscribe again."))
        else:
            rows = _by_code(db, config, token_or_code, channel, address, now)
    except Refused as refusal:
        _refused(db, actor, "confirm", refusal, now)
        raise
    channel, address = rows[0].channel, rows[0].address
    with write(db):
        store.activate(db, [r.id for r in rows], to_text(now))
        throttle_store.clear_counter(db, destination_key(config, "code", channel, address))
        places = [r.region_code for r in rows]
        queue_welcome(
            db,
            config,
            channel=channel,
            address=address,
            regions=places,
            lang=lang,
            now=now,
            stop_url=manage_url(config, rows[0].id),
        )
        codes = ",".join(places)
        detail = {"channel": channel, "address": mask(channel, address), "regions": codes}
        _log(db, actor, "subscription.confirm", None, **detail)
    return _listing(db, channel, address)


def subscribe_in_app(
    db: sqlite_utils.Database,
    config: Mapping,
    *,
    channel: str,
    address: str,
    regions: Iterable[str],
    how: str,
    now: datetime,
) -> Listing:
    """Subscribe an address that asked from inside its own app: a Telegram ``/start``
    link, a message to the Zalo OA, an SMS keyword (issue 15). The resident's own action in
    that app, from that address, is the opt-in, so the rows become active at once; the
    caps per destination still count it (Refused past them). ``how`` says which action,
    for the audit. Call it inside the caller's write (the inbox applies one event so)."""
    actor = audit.Actor("anonymous", None, None)
    channel = check_channel(channel)
    address = normalise_address(channel, address)
    found = chosen_regions(db, regions)
    with write(db):
        guard(db, config, channel, address, None, now)
        ids = [
            store.request_pending(
                db,
                channel=channel,
                address=address,
                region_code=region.code,
                confirm_hash="",
                expires_at=to_text(now),
                now=to_text(now),
            )
            for region in found
        ]
        remember_tokens(db, config, ids)
        store.activate(db, ids, to_text(now))
        codes = ",".join(r.code for r in found)
        detail = {"channel": channel, "address": mask(channel, address), "regions": codes}
        _log(db, actor, "subscription.confirm", None, how=how, **detail)
    return _listing(db, channel, address)


def _by_code(db, config, code: str, channel: str, address: str | None, now) -> list:
    """Return the rows a code confirms; count wrong codes and stop them past the limit."""
    channel = check_channel(channel)
    address = normalise_address(channel, address)
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"[0-9]{6}", code):
        raise Refused(N_("Enter the 6-digit code you received."), "code")
    key = destination_key(config, "code", channel, address)
    if count(db, key, now, CONFIRM_TTL) >= CODE_TRIES:
        raise Refused(N_("Too many wrong codes. Subscribe again to get a new code."), "code")
    hashed = code_hash(config, channel, address, code)
    rows = store.awaiting(db, hashed, to_text(now), channel=channel, address=address)
    if rows:
        return rows
    with write(db):
        bump(db, key, now, CONFIRM_TTL)
        if count(db, key, now, CONFIRM_TTL) >= CODE_TRIES:
            store.forget_confirmations(db, channel, address)
    raise Refused(N_("This code is wrong or has expired. Check it, or subscribe again."), "code")


def _listing(db, channel: str, address: str) -> Listing:
    entries = tuple(
        Entry(s.id, s.region_code, s.region_name, s.status)
        for s in store.of_address(db, channel, address)
    )
    return Listing(channel, mask(channel, address), entries)


def _holder(db: sqlite_utils.Database, token: str) -> store.Subscription:
    found = store.by_token(db, digest(token)) if _LINK_TOKEN.fullmatch(token or "") else None
    if found is None:
        raise NotFound("subscription")
    return found


def manage(db: sqlite_utils.Database, token: str) -> Listing:
    """Return the subscriptions of the token's address (masked); NotFound for a bad token.
    Reading changes nothing (the unsubscribe page shows this before its button)."""
    holder = _holder(db, token)
    return _listing(db, holder.channel, holder.address)


def unsubscribe(
    db: sqlite_utils.Database, token: str, *, ip: str | None = None, via: str = "link"
) -> Listing:
    """End every subscription of the token's address on its channel (one click)."""
    holder = _holder(db, token)
    masked = mask(holder.channel, holder.address)
    with write(db):
        ended = store.end(db, holder.channel, holder.address, to_text(utcnow()))
        detail = {"channel": holder.channel, "address": masked, "via": via, "ended": ended}
        _log(db, audit.Actor("anonymous", None, ip), "subscription.unsubscribe", None, **detail)
    return _listing(db, holder.channel, holder.address)


def delete(
    db: sqlite_utils.Database, token: str, subscription_id: int, *, ip: str | None = None
) -> Listing:
    """End one subscription of the token's address (another address's is left alone)."""
    holder = _holder(db, token)
    with write(db):
        ended = store.end(db, holder.channel, holder.address, to_text(utcnow()), [subscription_id])
        if ended:
            detail = {"channel": holder.channel, "address": mask(holder.channel, holder.address)}
            _log(
                db,
                audit.Actor("anonymous", None, ip),
                "subscription.delete",
                f"subscription:{subscription_id}",
                **detail,
            )
    return _listing(db, holder.channel, holder.address)


def send_manage_link(
    db: sqlite_utils.Database,
    config: Mapping,
    channel: str,
    address: str,
    *,
    ip: str | None = None,
) -> None:
    """Queue a "manage your subscriptions" link to an address that has subscriptions.

    Answers the same whether or not it has any (only a malformed address or the limits are
    refused), so the form tells nobody who is subscribed.
    """
    now, actor = utcnow(), audit.Actor("anonymous", None, ip)
    try:
        check_ip_limit(db, ip, now)
        channel = check_channel(channel)
        address = normalise_address(channel, address)
        with write(db):
            guard(db, config, channel, address, ip, now)
            known = [s for s in store.of_address(db, channel, address) if s.status != "pending"]
            account_id = notice_account(db, channel, known[0].region_code) if known else None
            notice_id = None
            if account_id is not None:
                remember_tokens(db, config, [known[0].id])
                texts = notice_texts("manage", channel, "", manage_url(config, known[0].id), "")
                notice_id = queue_notice(
                    db, "manage", channel, account_id, address, texts, now, now + MANAGE_TTL
                )
            detail = {"channel": channel, "address": mask(channel, address)}
            _log(
                db,
                actor,
                "subscription.manage_link",
                notice_id and f"notice:{notice_id}",
                **detail,
                sent=notice_id is not None,
            )
    except Refused as refusal:
        _refused(db, actor, "manage_link", refusal, now)
        raise


def is_stop_keyword(text: str) -> bool:
    """Return whether an inbound SMS asks to stop ("STOP", "HUY", "HỦY", "TU CHOI"...)."""
    words = re.sub(r"[^A-Z ]", " ", gsm.strip_diacritics(text or "").upper()).split()
    return " ".join(words) in STOP_WORDS


def stop_keyword(db: sqlite_utils.Database, phone: str, *, ip: str | None = None) -> int:
    """End every SMS subscription of a phone that sent the stop keyword; return how many."""
    address = normalise_address("sms", phone)
    with write(db):
        ended = store.end(db, "sms", address, to_text(utcnow()))
        detail = {"channel": "sms", "address": mask("sms", address), "ended": ended}
        _log(db, audit.Actor("sms-gateway", None, ip), "subscription.stop", None, **detail)
    return ended


def pause(db: sqlite_utils.Database, channel: str, address: str, reason: str, now: datetime) -> int:
    """Pause an address on one channel at once, with the platform's reason (it blocked the
    bot, unfollowed the OA, bounced or complained), and cancel what was queued for it;
    other channels are untouched. Runs inside the caller's transaction; audited masked."""
    paused = store.pause(db, channel, address, reason, to_text(now))
    if paused:
        receipt_store.stop_queued(db, paused, reason)
        detail = {"channel": channel, "address": mask(channel, address), "reason": reason}
        _log(db, audit.Actor(f"{channel}-platform"), "subscription.paused", None, **detail)
    return len(paused)


def expire_pending(db: sqlite_utils.Database, now: datetime | None = None) -> int:
    """Delete the requests nobody confirmed in time and old counters; return how many."""
    now = now or utcnow()
    with write(db):
        expired = store.expire_pending(db, to_text(now))
        for prefix, age in (
            ("sub:ip:", WINDOW),
            ("sub:dest:", DEST_WINDOW),
            ("sub:code:", CONFIRM_TTL),
        ):
            store.drop_counters(db, prefix, to_text(now - age))
    return expired
