"""Zalo Official Account: a consultation message to a resident, or an article broadcast.

A resident target (a Zalo user id) gets ``POST /v3.0/oa/message/cs`` with the rendering's
"text". The target "broadcast" runs the article flow, as the official SDK's
SendBroadcastMessage.java does (https://github.com/zaloplatform/zalo-java-sdk): create the
article from the "article" part, verify it until it has an id (Zalo answers -214 while
processing), then broadcast the "broadcast" part to the OA's followers with that id filled in.

Zalo answers HTTP 200 even for errors, so outcomes come from the envelope's ``error``
(https://docs.zaloplatforms.com/docs/OA/phu-luc/ma-loi). Access tokens last 25 h; the refresh
token is single-use and rotates
(https://docs.zaloplatforms.com/docs/OA/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new):
``refresh`` returns the new pair for the engine to store atomically.

Account: settings "app_id", optional "oauth_url" (default https://oauth.zaloapp.com) and
"cover_url" (the article cover when the warning has no image); secrets "access_token",
"refresh_token", "secret_key" (the app secret) and "expires_at" (ISO UTC).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import httpx

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.http import DETAIL
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import foreign_answer
from alerts.channels.http import post
from alerts.channels.http import read_json
from alerts.channels.http import scrub
from alerts.channels.http import transport_outcome

CHANNEL = "zalo"
OAUTH_URL = "https://oauth.zaloapp.com"
REFRESH_MARGIN = timedelta(hours=1)
# The article is usually ready within seconds; the engine's 20 s deadline bounds the polls.
VERIFY_TRIES = 4
VERIFY_WAIT = 3.0
VIETNAM = timezone(timedelta(hours=7))  # no daylight saving time
NIGHT_ENDS = 6  # -234: no sending 22:00-06:00, [UNVERIFIED] in Vietnam's time

_CODES = {
    -32: Reaction.RETRY_BACKOFF,  # app or OA over its per-minute call limit
    -100: Reaction.GIVE_UP,  # attachment expired (we send no uploaded attachments)
    -200: Reaction.RETRY_BACKOFF,
    -201: Reaction.GIVE_UP,
    -204: Reaction.DISABLE_CHANNEL,
    -205: Reaction.DISABLE_CHANNEL,
    -209: Reaction.DISABLE_CHANNEL,
    -210: Reaction.GIVE_UP,
    -211: Reaction.DISABLE_CHANNEL,  # the OA is out of quota until it resets
    -212: Reaction.DISABLE_CHANNEL,
    -213: Reaction.DISABLE_SUBSCRIBER,
    -214: Reaction.RETRY_BACKOFF,  # article still processing
    -216: Reaction.REFRESH_TOKEN,
    -217: Reaction.DISABLE_SUBSCRIBER,
    -218: Reaction.GIVE_UP,  # this user's receive quota is used up for the period
    -219: Reaction.DISABLE_CHANNEL,
    -220: Reaction.REFRESH_TOKEN,
    -221: Reaction.DISABLE_CHANNEL,
    -224: Reaction.DISABLE_CHANNEL,
    -227: Reaction.DISABLE_SUBSCRIBER,
    -230: Reaction.GIVE_UP,  # no interaction in 7 days: consultation is not possible
    -232: Reaction.GIVE_UP,
    -233: Reaction.GIVE_UP,
    -240: Reaction.GIVE_UP,
    -242: Reaction.DISABLE_CHANNEL,
    -244: Reaction.DISABLE_SUBSCRIBER,
    -248: Reaction.GIVE_UP,
    -320: Reaction.DISABLE_CHANNEL,
    -321: Reaction.DISABLE_CHANNEL,
}


@dataclass(frozen=True)
class _Reply:
    """One classified OA answer: the outcome, the envelope's data and its error code."""

    outcome: Outcome
    data: dict = field(default_factory=dict)
    code: int | None = None


class RefreshFailed(Exception):
    """Zalo did not give a new token pair; ``retryable`` when it may work later (network,
    5xx), false when Zalo refused (the OA must be reconnected by an administrator)."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


async def send(
    http: httpx.AsyncClient,
    account: Account,
    item: Item,
    *,
    sleep: Callable[[float], Awaitable] = asyncio.sleep,
) -> Outcome:
    """Send one item: a consultation message to a user id, or the article broadcast."""
    if not account.secrets.get("access_token"):
        return Outcome(Reaction.REFRESH_TOKEN, "no Zalo access token stored")
    if item.target == "broadcast":
        return await _broadcast(http, account, item, sleep)
    text = item.rendering.parts.get("text")
    if not text:
        return Outcome(Reaction.GIVE_UP, "the rendering has no Zalo text")
    body = {"recipient": {"user_id": item.target}, "message": {"text": text}}
    reply = await _call(http, account, "/v3.0/oa/message/cs", body)
    return _sent(reply.data) if reply.outcome.reaction is Reaction.OK else reply.outcome


async def _broadcast(http: httpx.AsyncClient, account: Account, item: Item, sleep) -> Outcome:
    """Create the article, wait until verified, then broadcast it to the followers."""
    parts = item.rendering.parts
    if "article" not in parts or "broadcast" not in parts:
        return Outcome(Reaction.GIVE_UP, "no Zalo article: only province or national warnings")
    try:
        article, message = json.loads(parts["article"]), json.loads(parts["broadcast"])
        elements = message["message"]["attachment"]["payload"]["elements"]
    except (ValueError, KeyError, TypeError):
        return Outcome(Reaction.GIVE_UP, "the rendering's article or broadcast is not valid")
    if "cover" not in article:
        if not account.settings.get("cover_url"):
            return Outcome(Reaction.GIVE_UP, "Zalo articles need a cover: set cover_url")
        cover = {"cover_type": "photo", "photo_url": account.settings["cover_url"]}
        article["cover"] = {**cover, "status": "show"}
    created = await _call(http, account, "/v2.0/article/create", article, final=False)
    if created.outcome.reaction is not Reaction.OK:
        return created.outcome
    if not created.data.get("token"):
        return Outcome(Reaction.RETRY_BACKOFF, "Zalo created the article without a token")
    outcome, article_id = await _verify(http, account, str(created.data["token"]), sleep)
    if article_id is None:
        return outcome
    for element in elements:
        if element.get("media_type") == "article":
            element["attachment_id"] = article_id
    reply = await _call(http, account, "/v2.0/oa/message", message)
    if reply.outcome.reaction is Reaction.OK:
        return _sent(reply.data, f"article {article_id}")
    return reply.outcome


async def _verify(
    http: httpx.AsyncClient, account: Account, token: str, sleep
) -> tuple[Outcome, str | None]:
    """Poll ``/v2.0/article/verify`` while Zalo answers -214; return the article id."""
    for attempt in range(VERIFY_TRIES):
        if attempt:
            await sleep(VERIFY_WAIT)
        reply = await _call(http, account, "/v2.0/article/verify", {"token": token}, final=False)
        if reply.outcome.reaction is Reaction.OK:
            article_id = reply.data.get("id") or reply.data.get("article_id")
            if article_id:
                return reply.outcome, str(article_id)
            return Outcome(Reaction.RETRY_BACKOFF, "Zalo verified the article without an id"), None
        if reply.code != -214:
            return reply.outcome, None
    return Outcome(Reaction.RETRY_BACKOFF, "Zalo article still processing (-214)"), None


def _sent(data: dict, note: str = "") -> Outcome:
    message_id = data.get("message_id")
    return Outcome(
        Reaction.OK, note, provider_id=str(message_id) if message_id else None, status_code=200
    )


async def _call(
    http: httpx.AsyncClient, account: Account, path: str, body: dict, *, final: bool = True
) -> _Reply:
    """POST one OA request and classify the answer.

    ``final`` is false for the article steps before the broadcast: a timeout or an answer
    that is not Zalo's there cannot have reached anyone, so it is retried rather than
    reported as unknown."""
    url = account.base_url.rstrip("/") + path
    headers = {"access_token": account.secrets["access_token"]}
    try:
        response, raw = await post(http, url, headers=headers, json=body)
    except SEND_ERRORS as exc:
        reply = _Reply(transport_outcome(exc, account.secrets.values()))
    else:
        reply = _classify(response.status_code, response.headers, raw, account)
    if not final and reply.outcome.reaction is Reaction.UNKNOWN:
        outcome = reply.outcome
        reply = _Reply(
            Outcome(Reaction.RETRY_BACKOFF, outcome.detail, status_code=outcome.status_code)
        )
    return reply


def _classify(status: int, headers: httpx.Headers, raw: bytes, account: Account) -> _Reply:
    """Classify an answer by its envelope (always HTTP 200 from Zalo itself)."""
    envelope = read_json(raw)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("error"), int):
        return _Reply(foreign_answer(status, headers, raw, "Zalo", "not Zalo's envelope"))
    code = envelope["error"]
    message = str(envelope.get("message", ""))
    if code == 0:
        data = envelope.get("data")
        data = data if isinstance(data, dict) else {}
        return _Reply(Outcome(Reaction.OK, status_code=status), data, 0)
    detail = scrub(f"Zalo error {code}: {message}"[:DETAIL], account.secrets.values())
    return _Reply(_code_outcome(code, message, detail, status), {}, code)


def _code_outcome(code: int, message: str, detail: str, status: int) -> Outcome:
    if code == -234:
        return Outcome(Reaction.RETRY_AFTER, detail, _until_morning(), status_code=status)
    if code == -223:
        # One code, two meanings: the API is not authorised, or the article quota is used up.
        quota = "quota" in message.lower() or "limit" in message.lower()
        reaction = Reaction.GIVE_UP if quota else Reaction.DISABLE_CHANNEL
        return Outcome(reaction, detail, status_code=status)
    # An undocumented code is retried a bounded number of times rather than dropped.
    return Outcome(_CODES.get(code, Reaction.RETRY_BACKOFF), detail, status_code=status)


def _until_morning(now: datetime | None = None) -> float:
    """Return the seconds until the night window ends (06:00 in Vietnam)."""
    local = (now or datetime.now(UTC)).astimezone(VIETNAM)
    morning = local.replace(hour=NIGHT_ENDS, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return (morning - local).total_seconds()


def needs_refresh(account: Account, now: datetime) -> bool:
    """Return whether the access token expires within an hour (or its expiry is unknown)."""
    try:
        expires = datetime.fromisoformat(account.secrets["expires_at"])
    except (KeyError, TypeError, ValueError):
        return True
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires - now <= REFRESH_MARGIN


async def refresh(
    http: httpx.AsyncClient, account: Account, now: datetime | None = None
) -> dict[str, str]:
    """Exchange the refresh token for a new pair; raise RefreshFailed when it is refused.

    The old refresh token stops working as soon as Zalo answers: store the returned
    "access_token", "refresh_token" and "expires_at" together before using them."""
    refresh_token = account.secrets.get("refresh_token")
    if not refresh_token or not account.secrets.get("secret_key"):
        raise RefreshFailed("no Zalo refresh token or app secret stored: reconnect the OA")
    url = account.settings.get("oauth_url", OAUTH_URL).rstrip("/") + "/v4/oa/access_token"
    form = {
        "refresh_token": refresh_token,
        "app_id": account.settings.get("app_id", ""),
        "grant_type": "refresh_token",
    }
    try:
        response, raw = await post(
            http, url, headers={"secret_key": account.secrets["secret_key"]}, data=form
        )
    except SEND_ERRORS as exc:
        # Even after a timeout the old token may still work: Zalo tells on the next try.
        failed = transport_outcome(exc, account.secrets.values())
        retryable = failed.reaction in (Reaction.RETRY_BACKOFF, Reaction.UNKNOWN)
        raise RefreshFailed(
            f"Zalo token refresh failed: {failed.detail}", retryable=retryable
        ) from None
    return _new_tokens(response.status_code, raw, account, now or datetime.now(UTC))


def _new_tokens(status: int, raw: bytes, account: Account, now: datetime) -> dict[str, str]:
    answer = read_json(raw)
    if not isinstance(answer, dict):
        # Zalo's own answers are JSON: this came from something in between; try again.
        raise RefreshFailed(f"Zalo token refresh: HTTP {status}, not JSON", retryable=True)
    if answer.get("access_token") and answer.get("refresh_token"):
        try:
            lifetime = int(answer.get("expires_in", 90000))  # a string, "90000" (25 h)
        except (TypeError, ValueError):
            lifetime = 90000
        expires = (now + timedelta(seconds=lifetime)).astimezone(UTC)
        return {
            "access_token": str(answer["access_token"]),
            "refresh_token": str(answer["refresh_token"]),
            "expires_at": expires.isoformat(timespec="seconds"),
        }
    reason = answer.get("error_description") or answer.get("error_name") or answer.get("message")
    detail = f"Zalo refused the refresh token (error {answer.get('error')}: {reason})"[:DETAIL]
    raise RefreshFailed(
        scrub(detail, account.secrets.values()) + ": reconnect the OA in the Zalo console",
        retryable=status >= 500,
    )
