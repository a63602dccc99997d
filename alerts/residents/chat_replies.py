"""Who a resident's chat is with, and how the bot or the OA answers in it (issue 15).

Every answer is a notice (``queue_notice``, kind "reply" or "welcome") on the account the
resident wrote to, so it goes out through the delivery engine with its retries, to that
chat only. Telegram notices are HTML: what we say is escaped. Nothing a resident wrote is
ever repeated back. The resident writes from their own account and only they get the
answers, so the caps per destination of the subscribe forms do not apply; a chat gets at
most ``PER_HOUR`` answers an hour all the same, so a script cannot spend the OA's quota.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.clock import to_text
from alerts.models import Region
from alerts.residents.limits import bump
from alerts.residents.limits import count
from alerts.residents.links import destination_key
from alerts.residents.notices import queue_notice
from alerts.store import subscriptions as subscription_store

REPLY_TTL = timedelta(hours=1)  # an answer that could not go out within this is dropped
PER_HOUR = 20
_HOUR = timedelta(hours=1)
_COUNTERS = "sub:chat:"  # the prefix of destination_key(config, "chat", ...)


@dataclass(frozen=True)
class Chat:
    """One resident's conversation: the channel, our account there, their address on it
    (chat id, Zalo user id) and the time of the message being answered."""

    channel: str
    account_id: int
    address: str
    now: datetime


def say(
    db: sqlite_utils.Database, config: Mapping, chat: Chat, text: str, *, kind: str = "reply"
) -> bool:
    """Queue an answer in the chat; False (nothing queued) past the hourly cap."""
    key = destination_key(config, "chat", chat.channel, chat.address)
    if count(db, key, chat.now, _HOUR) >= PER_HOUR:
        return False
    subscription_store.drop_counters(db, _COUNTERS, to_text(chat.now - _HOUR))  # stay few
    bump(db, key, chat.now, _HOUR)
    body = html.escape(text, quote=False) if chat.channel == "telegram" else text
    queue_notice(
        db,
        kind,
        chat.channel,
        chat.account_id,
        chat.address,
        ("", body, ""),
        chat.now,
        chat.now + REPLY_TTL,
    )
    return True


def say_candidates(db, config: Mapping, chat: Chat, found: list[Region]) -> None:
    """Answer a name several communes share with their codes, for the resident to pick."""
    listed = "; ".join(f"{r.code} {r.name}" for r in found)
    say(db, config, chat, f"Có nhiều xã, phường: {listed}. Hãy gửi mã của nơi bạn ở.")
