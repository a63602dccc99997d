"""Subscribing inside the app the resident already uses: a one-time deep link.

The subscribe page makes a link ``https://t.me/<bot>?start=<token>`` bound to the communes
chosen (../shared/channels-inbound.md §3.4: an opaque, single-use, expiring token, never a
commune code or a phone number). Opening it makes Telegram send the bot ``/start <token>``:
that message, the resident's own action in their own chat, is the double opt-in, so no chat
id is ever typed by hand. ``redeem`` is what the bot's handler calls; ``offer`` is what the
portal calls (``create`` counted against the network's limit and audited).

Zalo has no such link for an Official Account: the resident follows the OA and writes the
commune's name in that conversation. ``zalo_accounts`` says which OA speaks for each place
chosen, with its public link when the account's settings name one (``oa_url``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlsplit

import sqlite_utils

from alerts import audit
from alerts.clock import to_text
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Refused
from alerts.residents.addresses import chosen_regions
from alerts.residents.limits import check_ip_limit
from alerts.residents.limits import count_refusal
from alerts.residents.limits import count_request
from alerts.residents.links import digest
from alerts.residents.notices import notice_account
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import channel_links as store
from alerts.store import units as unit_store
from alerts.store.channel_links import Link

LINK_TTL = timedelta(hours=24)
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url: fits /start's 64
BOT_USERNAME = "bot_username"  # the Telegram account's setting naming the bot in t.me links
OA_URL = "oa_url"  # the Zalo account's setting: the OA's public page (https://zalo.me/...)
ZALO_HOSTS = ("zalo.me", "oa.zalo.me")


@dataclass(frozen=True)
class Offer:
    """A one-time link as the portal shows it."""

    url: str
    expires_at: str  # stored UTC text


@dataclass(frozen=True)
class OfficialAccount:
    """The Zalo OA that speaks for some of the places chosen."""

    unit: str  # "Công an thành phố Hà Nội"
    name: str  # the account's own name
    url: str | None  # its public page, when the account names one
    places: tuple[str, ...]  # the names of the places it answers for


def create(
    db: sqlite_utils.Database,
    channel: str,
    regions: Iterable[str],
    lang: str,
    now: datetime,
) -> tuple[str, str]:
    """Make a one-time link for the regions; return (token, the URL to open). Refused when
    no account of the channel reaches the region or the account names no bot."""
    found = chosen_regions(db, regions)
    account_id = notice_account(db, channel, found[0].code)
    account = account_store.get_account(db, account_id) if account_id else None
    bot = (account.settings.get(BOT_USERNAME) or "").lstrip("@") if account else ""
    if channel != "telegram" or not bot:
        raise Refused(N_("This channel does not reach your area yet: choose another."), "channel")
    token = secrets.token_urlsafe(32)
    link = Link(channel, account_id, tuple(r.code for r in found), lang)
    with write(db):
        store.insert(db, digest(token), link, to_text(now), to_text(now + LINK_TTL))
    return token, f"https://t.me/{bot}?start={token}"


def redeem(db: sqlite_utils.Database, account_id: int, token: str, now: datetime) -> Link | None:
    """Use a link's token once (inside the caller's write); None if it is malformed,
    unknown, used, expired or made for another bot."""
    if TOKEN.fullmatch(token or "") is None:
        return None
    return store.use(db, digest(token), account_id, to_text(now))


def offer(
    db: sqlite_utils.Database,
    *,
    channel: str,
    regions: Iterable[str],
    lang: str,
    ip: str | None,
    now: datetime,
) -> Offer:
    """Make a link for the portal (``create``), counted against the network's limit and
    audited with the places only (there is no address yet); Refused as ``create``."""
    actor = audit.Actor("anonymous", None, ip)
    try:
        check_ip_limit(db, ip, now)
        token, url = create(db, channel, regions, lang, now)
    except Refused as refusal:
        detail = {"attempted": "app_link", **refusal.audit_detail()}
        with write(db):
            count_refusal(db, ip, refusal, now)
            audit_store.append(db, audit.make_entry(actor, "subscription.refused", None, detail))
        raise
    codes = ",".join(dict.fromkeys(c.strip() for c in regions if c and c.strip()))
    with write(db):
        count_request(db, ip, now)
        detail = {"channel": channel, "regions": codes}
        audit_store.append(db, audit.make_entry(actor, "subscription.app_link", None, detail))
    return Offer(url, to_text(now + LINK_TTL))


def zalo_accounts(db: sqlite_utils.Database, regions: Iterable[str]) -> list[OfficialAccount]:
    """Return the OAs to follow for the chosen places, nearest unit first; places no OA
    reaches are left out. Refused for a bad choice, or when no OA reaches any of them."""
    found: dict[int, list[str]] = {}
    for region in chosen_regions(db, regions):
        account_id = notice_account(db, "zalo", region.code)
        if account_id is not None:
            found.setdefault(account_id, []).append(region.name)
    if not found:
        raise Refused(N_("This channel does not reach your area yet: choose another."), "channel")
    return [_official_account(db, account_id, places) for account_id, places in found.items()]


def _official_account(db, account_id: int, places: list[str]) -> OfficialAccount:
    account = account_store.get_account(db, account_id)
    unit = unit_store.get_unit(db, account.unit_id)
    url = (account.settings.get(OA_URL) or "").strip()
    parts = urlsplit(url)
    shown = url if parts.scheme == "https" and parts.hostname in ZALO_HOSTS else None
    return OfficialAccount(unit.name if unit else "", account.name, shown, tuple(places))
