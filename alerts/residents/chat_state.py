"""Where a resident's conversation with the bot or the OA stands, between two messages.

A report by chat (``alerts.reports.chat``) may take a few messages (what happened, then
which commune), so the step reached is kept in ``chat_conversations``, sealed with the data
key (what the resident said so far is theirs), under an HMAC of the chat: no address in
clear. A step lasts ``STEP_TTL``; stopping (``/stop``, HUY) ends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import sqlite_utils

from alerts.clock import to_text
from alerts.residents.chat_replies import Chat
from alerts.residents.links import mac
from alerts.security import vault
from alerts.store import chat_conversations as store

STEP_TTL = timedelta(minutes=30)  # how long a half-told report waits for its next message


def _party(config: Mapping, chat: Chat) -> str:
    return mac(config, "chat", f"{chat.channel}\n{chat.address}")


def current(db: sqlite_utils.Database, config: Mapping, chat: Chat) -> dict | None:
    """Return the step this chat's conversation is at, or None."""
    sealed = store.get(db, _party(config, chat), to_text(chat.now))
    return vault.unseal(config, sealed) if sealed else None


def keep(db: sqlite_utils.Database, config: Mapping, chat: Chat, step: dict) -> None:
    """Remember the step reached, for STEP_TTL."""
    sealed, now = vault.seal(config, step), to_text(chat.now)
    store.put(db, _party(config, chat), sealed, now, to_text(chat.now + STEP_TTL))


def forget(db: sqlite_utils.Database, config: Mapping, chat: Chat) -> None:
    """End this chat's conversation, if any."""
    store.drop(db, _party(config, chat))
