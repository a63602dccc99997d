"""Telegram Bot API: ``sendMessage`` in HTML parse mode, one call per rendered part.

The bot token is part of the URL path (``/bot<token>/sendMessage``), so it never goes into an
``Outcome``: details are built from Telegram's ``description`` or the exception's class and a
scrubbed message, never from the URL. (httpx itself logs every request URL at INFO on the
"httpx" logger: the app's logging must keep that logger at WARNING or above.)

A split rendering ("text", "text_2", ...) is sent in order, ``PART_INTERVAL`` apart, since
Telegram allows about one message a second to one chat
(https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). When a
later part fails, the outcome is that part's, its ``detail`` starts with ``PARTIAL`` and names
the part, and ``provider_id`` lists the messages already sent: Telegram has no idempotency
key, so an engine that retries the whole item sends those parts again (a possible duplicate,
docs/reliability.md#unknown-outcomes). A later part answered 429 with a short wait is resent
here once after that wait.
"""

from __future__ import annotations

import asyncio
import re

import httpx

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.http import DETAIL
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import post_json
from alerts.channels.http import retry_after_seconds
from alerts.channels.http import retryable
from alerts.channels.http import scrub_outcome
from alerts.channels.http import told_wait
from alerts.channels.http import transport_outcome
from alerts.render import Rendering

CHANNEL = "telegram"
DEFAULT_BASE_URL = "https://api.telegram.org"
BROADCAST = "broadcast"
PARTIAL = "partial"
# Seconds between the parts of a split message: Telegram allows about 1 message/s per chat.
PART_INTERVAL = 1.05
# A later part told to wait at most this long is resent after the wait instead of handing
# the item back to the engine, whose retry would repeat the parts already sent.
MAX_PART_WAIT = 3.0
_CHAT_ID = re.compile(r"-?\d+")


async def send(http: httpx.AsyncClient, account: Account, item: Item) -> Outcome:
    """Send every part of the rendering to the unit's channel or a resident's chat."""
    token = account.secrets.get("bot_token", "")
    broadcast = item.target == BROADCAST
    chat_id = account.settings.get("chat_id", "") if broadcast else item.target
    if not token or not chat_id:
        return Outcome(Reaction.DISABLE_CHANNEL, "no bot token or channel chat id configured")
    names = part_names(item.rendering)
    if not names:
        return Outcome(Reaction.GIVE_UP, "the rendering has no text")
    base = (account.base_url or DEFAULT_BASE_URL).rstrip("/")
    url = f"{base}/bot{token}/sendMessage"
    sent: list[str] = []
    for number, name in enumerate(names, start=1):
        if sent:
            await asyncio.sleep(PART_INTERVAL)
        payload = _payload(chat_id, item.rendering.parts[name])
        outcome = await _send_part(http, url, payload, token, broadcast, later=bool(sent))
        if outcome.reaction != Reaction.OK:
            return _partial(outcome, number, len(names), sent) if sent else outcome
        sent.append(outcome.provider_id or "")
    detail = f"{len(sent)} messages" if len(sent) > 1 else ""
    return Outcome(Reaction.OK, detail, provider_id=",".join(sent), status_code=200)


def part_names(rendering: Rendering) -> list[str]:
    """Return the rendering's text parts in sending order: "text", "text_2", "text_3" ..."""
    names = []
    name = "text"
    while rendering.parts.get(name):
        names.append(name)
        name = f"text_{len(names) + 1}"
    return names


def _payload(chat_id: str, text: str) -> dict:
    return {
        # Numeric ids go as integers, "@channelname" as it is
        # (https://core.telegram.org/bots/api#sendmessage).
        "chat_id": int(chat_id) if _CHAT_ID.fullmatch(chat_id) else chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }


async def _send_part(
    http: httpx.AsyncClient, url: str, payload: dict, token: str, broadcast: bool, later: bool
) -> Outcome:
    outcome = await _post(http, url, payload, token, broadcast)
    wait = outcome.retry_after
    if later and outcome.reaction == Reaction.RETRY_AFTER and wait and wait <= MAX_PART_WAIT:
        await asyncio.sleep(wait)
        outcome = await _post(http, url, payload, token, broadcast)
    return outcome


async def _post(
    http: httpx.AsyncClient, url: str, payload: dict, token: str, broadcast: bool
) -> Outcome:
    try:
        response, data = await post_json(http, url, payload)
    except SEND_ERRORS as exc:
        # httpx messages can quote the URL, and a Telegram URL holds the bot token.
        return transport_outcome(exc, (token,))
    return scrub_outcome(_classify(response, data, broadcast), (token,))


def _partial(outcome: Outcome, number: int, total: int, sent: list[str]) -> Outcome:
    detail = (
        f"{PARTIAL}: part {number}/{total} failed after {len(sent)} sent "
        f"(a retry sends them again): {outcome.detail}"
    )
    return Outcome(
        outcome.reaction,
        detail[:DETAIL],
        retry_after=outcome.retry_after,
        provider_id=",".join(sent),
        status_code=outcome.status_code,
    )


def _classify(response: httpx.Response, data: object, broadcast: bool) -> Outcome:
    """Map a Bot API answer to a reaction (envelope and error_code:
    https://core.telegram.org/bots/api#making-requests)."""
    status = response.status_code
    body = data if isinstance(data, dict) else {}
    params = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    description = str(body.get("description") or response.reason_phrase)
    if "migrate_to_chat_id" in params:
        description += f" (new chat id {params['migrate_to_chat_id']})"
    description = description[:DETAIL]
    if 200 <= status < 300:
        if body.get("ok") is True and isinstance(body.get("result"), dict):
            message_id = body["result"].get("message_id")
            return Outcome(Reaction.OK, provider_id=str(message_id), status_code=status)
        detail = "a 2xx answer that is not the Bot API's"
        return Outcome(Reaction.UNKNOWN, detail, status_code=status)
    if retryable(status):
        # Telegram's own 429 names its wait in the body; a proxy's 503 in a header.
        wait = retry_after_seconds(params.get("retry_after")) if status == 429 else None
        if wait is None:
            wait = told_wait(status, response.headers)
        if wait is None:
            return Outcome(Reaction.RETRY_BACKOFF, description, status_code=status)
        return Outcome(Reaction.RETRY_AFTER, description, retry_after=wait, status_code=status)
    if status in (401, 404) or 300 <= status < 400:
        # 401: the token was revoked; 404: malformed token or wrong base URL; 3xx: a proxy.
        return Outcome(Reaction.DISABLE_CHANNEL, description, status_code=status)
    reaction = _refused(status, description, params, broadcast)
    return Outcome(reaction, description, status_code=status)


def _refused(status: int, description: str, params: dict, broadcast: bool) -> Reaction:
    """Return the reaction to a 4xx refusal (other than 401, 404 and 429)."""
    lost = Reaction.DISABLE_CHANNEL if broadcast else Reaction.DISABLE_SUBSCRIBER
    lowered = description.lower()
    if status == 403:
        # Blocked, deactivated, kicked, or the bot is no longer admin of the unit's channel.
        return lost
    if "migrate_to_chat_id" in params or "chat not found" in lowered:
        # A group upgraded to a supergroup has a new id: someone must store it.
        return lost
    if "rights" in lowered:  # "not enough rights", "need administrator rights in the channel"
        return Reaction.DISABLE_CHANNEL
    # "can't parse entities", "message is too long", "message text is empty": a renderer bug.
    return Reaction.GIVE_UP
