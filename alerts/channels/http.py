"""What every HTTP channel client does alike, written once so that a fix reaches them all.

Zalo, Facebook, Telegram, SMS and the webhook each post one request, read a capped answer
(a body past ``MAX_BODY`` is not the API talking:
docs/reliability.md#deadlines-and-capped-answers), classify a transport
error by whether the request can have arrived, honour a Retry-After (seconds or an HTTP
date) and keep the account's secrets out of every ``Outcome`` detail. Each client keeps
only what its provider does differently: the answer's shape and its error codes.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import httpx

from alerts import clock
from alerts.channels import Outcome
from alerts.channels import Reaction

MAX_BODY = 64 * 1024
DETAIL = 200
# What ``post`` and ``post_json`` raise: hand it to ``transport_outcome``.
SEND_ERRORS = (httpx.HTTPError, httpx.InvalidURL)
# Raised before the request was written: nothing can have arrived. (A write error or a
# timeout while writing may leave a request the server acts on: that is UNKNOWN.)
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


async def post(
    http: httpx.AsyncClient, url: str, *, limit: int = MAX_BODY, **kwargs
) -> tuple[httpx.Response, bytes]:
    """POST (``kwargs`` as for ``httpx.AsyncClient.stream``) and read at most ``limit`` bytes of
    the answer: a huge body is cut, never read whole (``limit=0`` reads none of it).

    Raises ``SEND_ERRORS`` as httpx does, ``DecodingError`` for a body that lies about its
    encoding (the request arrived: ``transport_outcome`` calls that UNKNOWN)."""
    body = bytearray()
    async with http.stream("POST", _parsed(url), **kwargs) as response:
        if limit > 0:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= limit:
                    break
    return response, bytes(body[:limit])


@functools.lru_cache(maxsize=1024)
def _parsed(url: str) -> httpx.URL:
    """Return a provider URL parsed once: httpx would parse the same string again on every
    request (a tenth of the client's time in scripts/bench)."""
    return httpx.URL(url)


def read_json(raw: bytes | str) -> object | None:
    """Return the JSON of an answer's body (or header), or None if it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def post_json(
    http: httpx.AsyncClient, url: str, payload: Mapping
) -> tuple[httpx.Response, object]:
    """POST ``payload`` as JSON; return the response and its JSON (None if it has none)."""
    response, raw = await post(http, url, json=payload)
    return response, read_json(raw)


def describe(exc: Exception) -> str:
    """Return the exception's class and message (which may quote a URL: scrub it)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def transport_outcome(
    exc: Exception, secrets: Iterable[str] = (), *, with_message: bool = True
) -> Outcome:
    """Classify an httpx error: misconfigured, never sent (retry), unsendable, or maybe sent
    (unknown). The detail names the exception and, unless ``with_message`` is false (a
    client whose URL is itself a secret), its message with ``secrets`` removed."""
    described = describe(exc) if with_message else type(exc).__name__
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        reaction, what = Reaction.DISABLE_CHANNEL, "bad url"
    elif isinstance(exc, NOT_SENT):
        reaction, what = Reaction.RETRY_BACKOFF, "not sent"
    elif isinstance(exc, httpx.LocalProtocolError):
        # Our own request breaks HTTP (a header with a line break ...): it never will go.
        reaction, what = Reaction.GIVE_UP, "not sendable"
    elif isinstance(exc, httpx.DecodingError):
        reaction, what = Reaction.UNKNOWN, "unreadable answer"
    else:
        # Read timeouts, dropped connections, cut writes: it may have been acted on.
        reaction, what = Reaction.UNKNOWN, "no answer"
    return Outcome(reaction, scrub(f"{what}: {described}", secrets)[:DETAIL])


def retry_after_seconds(value: object) -> float | None:
    """Return a wait in seconds from a number (a JSON field) or a Retry-After header's
    delta-seconds or HTTP date; None when there is none or it cannot be read."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        if text.isascii() and text.isdigit():
            seconds = float(text)
        else:
            try:
                moment = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
            if moment.tzinfo is None:  # "-0000": no zone said, so no moment known
                return None
            seconds = (moment - clock.utcnow()).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def retryable(status: int) -> bool:
    """Return whether an HTTP status is worth retrying whoever sent it: a timeout (408), too
    early (425), too many requests (429) or a server error (5xx)."""
    return status >= 500 or status in (408, 425, 429)


def told_wait(status: int, headers: httpx.Headers) -> float | None:
    """Return the wait a Retry-After names on an answer worth retrying, else None.

    Every channel reads it alike (docs/channels.md#answers-from-something-else): an outage
    page of a proxy in front of any provider says 503 with Retry-After, and Standard
    Webhooks asks that any Retry-After be honoured."""
    return retry_after_seconds(headers.get("retry-after")) if retryable(status) else None


def foreign_answer(
    status: int, headers: httpx.Headers, raw: bytes, provider: str, unexpected: str
) -> Outcome:
    """Classify an answer that is not the provider API's own (a proxy, an outage page, a
    wrong base URL): ``unexpected`` says what a JSON body lacked.

    A 2xx is UNKNOWN: whatever answered may have passed the message on before it, so a
    resend is a possible duplicate. A status that is not worth retrying (3xx, 4xx) will come
    back on every request of the account: it is misconfigured."""
    kind = "not JSON" if raw[:1] not in (b"{", b"[") else unexpected
    if 200 <= status < 300:
        detail = f"HTTP {status}, {kind}: it may have been sent"
        return Outcome(Reaction.UNKNOWN, detail, status_code=status)
    wait = told_wait(status, headers)
    if wait is not None:
        return Outcome(Reaction.RETRY_AFTER, f"HTTP {status}", wait, status_code=status)
    if retryable(status):
        return Outcome(Reaction.RETRY_BACKOFF, f"HTTP {status}, {kind}", status_code=status)
    detail = f"HTTP {status} from {provider}: check base_url"
    return Outcome(Reaction.DISABLE_CHANNEL, detail, status_code=status)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every secret, raw or URL-quoted, replaced by "***" (the longest
    first, so a secret holding another is masked whole)."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        for form in _forms(secret):
            text = text.replace(form, "***")
    return text


@functools.lru_cache(maxsize=256)
def _forms(secret: str) -> tuple[str, ...]:
    """Return the ways a secret can appear in a message: as it is and URL-quoted (worked
    out once per secret: every answer of every send is scrubbed)."""
    return tuple(dict.fromkeys((secret, quote(secret, safe=""), quote(secret))))


def scrub_outcome(outcome: Outcome, secrets: Iterable[str]) -> Outcome:
    """Return the outcome with secrets removed from its detail (a provider may echo them)."""
    detail = scrub(outcome.detail, secrets)
    return outcome if detail == outcome.detail else replace(outcome, detail=detail)
