"""Telegram's webhook: one ``Update`` per call (../shared/channels-inbound.md §3).

Telegram signs nothing: the proof of origin is the ``secret_token`` we gave ``setWebhook``,
echoed in ``X-Telegram-Bot-Api-Secret-Token`` (the account's ``webhook_secret``), compared
in constant time; missing or wrong gets 401 (§3.9). ``update_id`` is the event's key.
"""

from __future__ import annotations

import hmac
import json

from alerts.channels import Account
from alerts.inbound import Accepted
from alerts.inbound import Answer
from alerts.inbound import Call
from alerts.inbound import Event
from alerts.inbound import Kind
from alerts.inbound import Refusal

CHANNEL = "telegram"
SECRET = "webhook_secret"  # the account's secret passed to setWebhook as secret_token
HEADER = "x-telegram-bot-api-secret-token"
UNAUTHORIZED = Answer(401, "unauthorized")


def receive(account: Account, call: Call) -> Accepted | Refusal:
    """Check the secret token, then read the update into one event."""
    ours = account.secrets.get(SECRET, "")
    presented = call.headers.get(HEADER, "")
    if not ours or not hmac.compare_digest(ours.encode(), presented.encode()):
        return Refusal("wrong or missing secret token", UNAUTHORIZED)
    try:
        update = json.loads(call.body)
        update_id = update["update_id"]
    except (ValueError, TypeError, KeyError):
        return Refusal("not a Telegram update", Answer(400, "bad request"))
    if not isinstance(update_id, int):
        return Refusal("not a Telegram update", Answer(400, "bad request"))
    return Accepted((_event(update_id, update),))


def _private_chat(message: dict) -> str | None:
    chat = message.get("chat") if isinstance(message, dict) else None
    if isinstance(chat, dict) and chat.get("type") == "private" and "id" in chat:
        return str(chat["id"])
    return None


def _event(update_id: int, update: dict) -> Event:
    key = str(update_id)
    if isinstance(update.get("my_chat_member"), dict):
        change = update["my_chat_member"]
        status = (change.get("new_chat_member") or {}).get("status")
        chat = _private_chat(change)
        if chat and status == "kicked":
            return Event(key, Kind.STOPPED, chat, {"reason": "blocked the bot"})
        if chat and status == "member":
            return Event(key, Kind.RESUMED, chat)
    if isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        sender = (query.get("from") or {}).get("id")
        data = {"id": str(query.get("id", "")), "payload": str(query.get("data", ""))[:64]}
        return Event(key, Kind.CALLBACK, None if sender is None else str(sender), data)
    message = update.get("message")
    chat = _private_chat(message)
    text = message.get("text") if chat else None
    if isinstance(text, str):
        language = str((message.get("from") or {}).get("language_code") or "")[:8]
        command, _, payload = text.strip().partition(" ")
        if command == "/start" and payload.strip():
            return Event(key, Kind.START, chat, {"token": payload.strip()[:64], "lang": language})
        return Event(key, Kind.MESSAGE, chat, {"text": text[:4096], "lang": language})
    return Event(key, Kind.OTHER)
