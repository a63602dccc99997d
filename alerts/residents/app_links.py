"""Subscribing inside the app the resident already uses: a one-time deep link.

The subscribe page makes a link ``https://t.me/<bot>?start=<token>`` bound to the communes
chosen (../shared/channels-inbound.md §3.4: an opaque, single-use, expiring token, never a
commune code or a phone number). Opening it makes Telegram send the bot ``/start <token>``:
that message, the resident's own action in their own chat, is the double opt-in, so no chat
id is ever typed by hand. ``redeem`` is what the bot's handler calls.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.clock import to_text
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Refused
from alerts.residents.addresses import chosen_regions
from alerts.residents.links import digest
from alerts.residents.notices import notice_account
from alerts.store import accounts as account_store
from alerts.store import channel_links as store
from alerts.store.channel_links import Link

LINK_TTL = timedelta(hours=24)
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url: fits /start's 64
BOT_USERNAME = "bot_username"  # the Telegram account's setting naming the bot in t.me links


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
