"""What a resident's message to the Telegram bot or the Zalo OA does (issue 15): subscribe
and stop (a report by chat is ``alerts.reports.chat``'s). Modelled on the SMS keywords
(``alerts.residents.sms_keywords``).

- Telegram's ``/start <token>`` redeems a one-time link of the subscribe page
  (``alerts.residents.app_links``) and subscribes that chat to the link's communes: the
  resident's own tap, in their own chat, is the double opt-in. A token that is malformed,
  used, expired or another bot's gets an answer and changes nothing.
- A commune's name (diacritics optional) or code, with or without "DK", is answered with the
  commune found and "reply CO to confirm"; only "CO" (or OK) from that chat within 24 hours
  subscribes it. Several candidates are answered with their codes, none with the help.
- ``/stop`` (Telegram), "HUY" or "STOP" ends every subscription of that chat on that channel.
- A Zalo follow is greeted with the help: following opens the OA's reply window, and
  following alone subscribes nothing.

Everything runs inside the inbox's write for the event; the answer is queued
(``alerts.residents.chat_replies``). Addresses are masked in the audit; nothing is logged.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlite_utils

from alerts import audit
from alerts.clock import to_text
from alerts.errors import Refused
from alerts.residents import app_links
from alerts.residents import chat_state
from alerts.residents import chat_words
from alerts.residents import subscriptions
from alerts.residents import welcome
from alerts.residents.addresses import mask
from alerts.residents.chat_replies import Chat
from alerts.residents.chat_replies import say
from alerts.residents.chat_replies import say_candidates
from alerts.residents.limits import TooMany
from alerts.residents.links import code_hash
from alerts.residents.places import communes_named
from alerts.store import audit as audit_store
from alerts.store import subscriptions as store

CONFIRM = frozenset({"co", "ok", "dk ok", "dong y", "xac nhan", "/ok"})
SUBSCRIBE = "dk"
_STOP_HINT = {"telegram": "/stop", "zalo": "HUY"}
_REPORT_HINT = {"telegram": "/baotin", "zalo": "BAO TIN"}


def _help(channel: str) -> str:
    return (
        "Cảnh báo lừa đảo của Công an: gửi tên hoặc mã xã, phường nơi bạn ở để nhận cảnh báo"
        f" (ví dụ: Hoàn Kiếm, 00070). Gửi {_REPORT_HINT[channel]} để báo tin lừa đảo,"
        f" {_STOP_HINT[channel]} để ngừng nhận."
    )


def _actor(channel: str) -> audit.Actor:
    return audit.Actor(f"{channel}-chat", None, None)


def start(db: sqlite_utils.Database, config: Mapping, chat: Chat, token: str) -> str:
    """``/start <token>``: subscribe the chat to the communes of the link, once."""
    link = app_links.redeem(db, chat.account_id, token, chat.now)
    if link is None:
        say(
            db,
            config,
            chat,
            "Liên kết đăng ký không hợp lệ, đã dùng hoặc đã hết hạn. Hãy tạo liên kết mới"
            " trên trang đăng ký, hoặc gửi tên xã, phường của bạn tại đây.",
        )
        return "start: invalid link"
    return _subscribe(db, config, chat, list(link.region_codes), "telegram-start")


def followed(db: sqlite_utils.Database, config: Mapping, chat: Chat) -> str:
    """A Zalo follow: greet with the help, subscribe nothing."""
    say(db, config, chat, _help(chat.channel))
    return "greeted"


def answer(db: sqlite_utils.Database, config: Mapping, chat: Chat, text: str) -> str:
    """Act on one message a resident wrote; return what was done (no address in it)."""
    if chat_words.is_stop(text):
        return _stop(db, config, chat)
    words = chat_words.words(text)
    command = words.split(" ", 1)[0]
    if words in CONFIRM:
        return _confirm(db, config, chat)
    if command.startswith("/") or not words:
        say(db, config, chat, _help(chat.channel))
        return "help"
    rest = words[len(SUBSCRIBE) :].strip() if command == SUBSCRIBE else words
    return _choose(db, config, chat, rest)


def _pending_hash(config: Mapping, chat: Chat) -> str:
    """The confirmation digest of a chat's request: only that chat can confirm it."""
    return code_hash(config, chat.channel, chat.address, "chat CO")


def _choose(db, config: Mapping, chat: Chat, rest: str) -> str:
    """A commune's name or code: one found is held for confirmation, several are listed."""
    found = communes_named(db, rest) if rest else []
    if not found:
        say(db, config, chat, _help(chat.channel))
        return "help"
    if len(found) > 1:
        say_candidates(db, config, chat, found)
        return "candidates"
    region = found[0]
    store.request_pending(
        db,
        channel=chat.channel,
        address=chat.address,
        region_code=region.code,
        confirm_hash=_pending_hash(config, chat),
        expires_at=to_text(chat.now + subscriptions.CONFIRM_TTL),
        now=to_text(chat.now),
    )
    detail = {"channel": chat.channel, "address": mask(chat.channel, chat.address)}
    entry = audit.make_entry(
        _actor(chat.channel),
        "subscription.request",
        None,
        {**detail, "regions": region.code, "how": f"{chat.channel}-chat"},
    )
    audit_store.append(db, entry)
    say(
        db,
        config,
        chat,
        f"Bạn muốn nhận cảnh báo của Công an cho {region.name} ({region.code})?"
        " Trả lời CO để xác nhận (trong 24 giờ).",
    )
    return f"asked to confirm {region.code}"


def _confirm(db, config: Mapping, chat: Chat) -> str:
    """ "CO": subscribe what this chat asked for."""
    rows = store.awaiting(
        db,
        _pending_hash(config, chat),
        to_text(chat.now),
        channel=chat.channel,
        address=chat.address,
    )
    if not rows:
        say(db, config, chat, _help(chat.channel))
        return "nothing to confirm"
    return _subscribe(db, config, chat, [r.region_code for r in rows], f"{chat.channel}-chat")


def _subscribe(db, config: Mapping, chat: Chat, regions: list[str], how: str) -> str:
    try:
        listing = subscriptions.subscribe_in_app(
            db,
            config,
            channel=chat.channel,
            address=chat.address,
            regions=regions,
            how=how,
            now=chat.now,
        )
    except TooMany:
        return "capped"
    except Refused as refusal:  # a region gone from the map since the link was made
        return f"refused: {refusal.message}"
    names = ", ".join(e.region_name for e in listing.entries if e.region_code in regions)
    in_force = welcome.listing(
        db, regions, "vi", chat.channel, chat.now, public_url=config["PUBLIC_URL"]
    )
    say(
        db,
        config,
        chat,
        f"Đã đăng ký nhận cảnh báo lừa đảo của Công an cho {names}.\n\n{in_force}\n\n"
        f"Gửi {_STOP_HINT[chat.channel]} để ngừng nhận, {_REPORT_HINT[chat.channel]}"
        " để báo tin lừa đảo.",
        kind="welcome",
    )
    return f"subscribed {','.join(regions)}"


def _stop(db, config: Mapping, chat: Chat) -> str:
    """End every subscription of the chat on its channel (and a report half told)."""
    chat_state.forget(db, config, chat)
    ended = store.end(db, chat.channel, chat.address, to_text(chat.now))
    detail = {"channel": chat.channel, "address": mask(chat.channel, chat.address)}
    entry = audit.make_entry(
        _actor(chat.channel), "subscription.stop", None, {**detail, "ended": ended}
    )
    audit_store.append(db, entry)
    said = (
        "Đã ngừng gửi cảnh báo của Công an tới bạn tại đây."
        if ended
        else ("Bạn chưa đăng ký nhận cảnh báo nào tại đây.")
    )
    say(db, config, chat, f"{said} Gửi tên xã, phường để đăng ký.")
    return f"stopped {ended}"
