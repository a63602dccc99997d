"""The demo residents' phones: what a resident does in Telegram or Zalo (open a subscribe
link, follow the OA, write to the bot, block it), played by the local fake servers, which
call our real endpoints exactly as the platforms would (``/hooks/<channel>/<account>``,
signed with the account's own secrets). Our endpoint stores the event and the worker
applies it, so nothing here writes a subscription or a report itself. Never in production.

The fakes are reached through their control API on loopback (tests/fakes/*: Telegram's
``_control/update``, Zalo's ``_control/webhook`` and ``_control/event``); what the bot and
the OA answered is read back from what the fakes were asked to send.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import httpx
import sqlite_utils

from alerts.channels import Account
from alerts.clock import utcnow
from alerts.residents import app_links
from alerts.residents.addresses import mask
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import units as unit_store

UNIT = "ca-01"  # the unit whose bot and OA the demo residents talk to
TIMEOUT = 15.0
_TAG = re.compile(r"<[^>]*>")
# Where each fake keeps the messages our account sent, and how it names the resident.
_SENT = {
    "telegram": ("/sendMessage", lambda body: str(body.get("chat_id", ""))),
    "zalo": (
        "/v3.0/oa/message/cs",
        lambda body: str((body.get("recipient") or {}).get("user_id", "")),
    ),
}


class FakesUnreachable(Exception):
    """The fake servers did not answer (not started, or stopped)."""


def account(db: sqlite_utils.Database, config: Mapping, channel: str) -> Account | None:
    """The unit's live account of the channel with its secrets opened, or None."""
    unit = unit_store.get_unit_by_code(db, UNIT)
    for stored in account_store.accounts_of_units(db, [unit.id]):
        if stored.channel == channel and stored.active and not stored.test_audience:
            secrets = vault.unseal(config, stored.secrets)
            return Account(stored.id, channel, stored.base_url, stored.settings, secrets)
    return None


def _root(found: Account) -> str:
    """The fakes' address: an account's base URL is ``<fakes>/<channel prefix>``."""
    return found.base_url.rstrip("/").rsplit("/", 1)[0]


def _hook(config: Mapping, found: Account) -> str:
    return f"{config['PUBLIC_URL'].rstrip('/')}/hooks/{found.channel}/{found.id}"


def _control(found: Account, path: str, body: dict) -> dict:
    try:
        answer = httpx.post(f"{_root(found)}{path}", json=body, timeout=TIMEOUT)
    except httpx.TransportError as error:
        raise FakesUnreachable(str(error)) from None
    return answer.json()


def connect(db: sqlite_utils.Database, config: Mapping) -> bool:
    """Tell the fake Zalo OA where our webhook is and the OA secret key to sign with, so
    every message it accepts is followed by its received and seen receipts (the fakes
    start empty: once per start). False without a Zalo account."""
    zalo = account(db, config, "zalo")
    if zalo is None:
        return False
    body = {"url": _hook(config, zalo), "receipts": "seen", "secret": zalo.secrets["oa_secret_key"]}
    return bool(_control(zalo, "/zalo/_control/webhook", body).get("ok"))


def _telegram(db, config: Mapping, chat: str, kind: str, **extra) -> int:
    """The fake Bot API sends one update of the chat to our webhook; our answer's status."""
    bot = account(db, config, "telegram")
    body = {"url": _hook(config, bot), "kind": kind, "chat": int(chat), **extra}
    body["secret"] = bot.secrets["webhook_secret"]
    return int(_control(bot, "/telegram/_control/update", body)["status"])


def telegram_opens_link(db, config: Mapping, chat: str, regions: list[str]) -> int:
    """The resident taps the subscribe page's ``t.me`` link for these communes: the link is
    made as the page makes it, and Telegram sends the bot ``/start <token>``."""
    token, _ = app_links.create(db, "telegram", regions, "vi", utcnow())
    return _telegram(db, config, chat, "start", payload=token)


def telegram_says(db, config: Mapping, chat: str, text: str) -> int:
    """The resident writes to the bot."""
    return _telegram(db, config, chat, "text", text=text)


def telegram_blocks(db, config: Mapping, chat: str) -> int:
    """The resident blocks the bot (``my_chat_member``, kicked)."""
    return _telegram(db, config, chat, "kicked")


def _zalo(db, config: Mapping, user: str, event: str, **extra) -> int:
    oa = account(db, config, "zalo")
    body = {"url": _hook(config, oa), "event": event, "user_id": user, **extra}
    body["secret"] = oa.secrets["oa_secret_key"]
    return int(_control(oa, "/zalo/_control/event", body)["status"])


def zalo_follows(db, config: Mapping, user: str) -> int:
    """The resident follows the unit's OA."""
    return _zalo(db, config, user, "follow")


def zalo_says(db, config: Mapping, user: str, text: str) -> int:
    """The resident writes to the OA."""
    return _zalo(db, config, user, "user_send_text", text=text)


def answers(db, config: Mapping, channel: str, address: str) -> list[str]:
    """What our bot or OA sent the resident, oldest first, as plain text (nothing of it is
    ever rendered as HTML); empty when the fakes do not answer."""
    found = account(db, config, channel)
    if found is None or channel not in _SENT:
        return []
    try:
        listed = httpx.get(
            f"{_root(found)}/_control/requests", params={"channel": channel}, timeout=TIMEOUT
        ).json()
    except (httpx.TransportError, ValueError):
        return []
    path, resident = _SENT[channel]
    texts = []
    for request in listed:
        body = request.get("json") if isinstance(request.get("json"), dict) else {}
        if (
            request["path"].endswith(path)
            and request["status"] == 200
            and resident(body) == address
        ):
            text = (
                body.get("text")
                if channel == "telegram"
                else (body.get("message") or {}).get("text")
            )
            texts.append(html.unescape(_TAG.sub("", str(text or ""))))
    return texts


def gateway_sms(db, known: set[str], limit: int = 10) -> list[dict]:
    """The SMS the fake gateway accepted for numbers that are no demo resident's, newest
    first, masked: where a newcomer trying the subscribe page reads their code (the fake
    delivers nothing, and the notices outbox erases a code once it is sent)."""
    accounts = account_store.active_of_channels(db, ["sms"])
    if not accounts:
        return []
    root = accounts[0].base_url.rstrip("/").rsplit("/", 1)[0]
    try:
        listed = httpx.get(
            f"{root}/_control/requests", params={"channel": "esms"}, timeout=TIMEOUT
        ).json()
    except (httpx.TransportError, ValueError):
        return []
    found = []
    for request in reversed(listed):
        body = request.get("json") if isinstance(request.get("json"), dict) else {}
        phone = str(body.get("Phone") or "")
        number = f"+84{phone[1:]}" if phone.startswith("0") else f"+{phone.lstrip('+')}"
        if request.get("status") == 200 and phone and number not in known:
            found.append({"address": mask("sms", number), "text": str(body.get("Content", ""))})
    return found[:limit]
