"""Webhooks to newsrooms and partner systems, signed per Standard Webhooks 1.0
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).

The body is the rendering's JSON, sent byte for byte as rendered (UTF-8), with webhook-id
(the delivery's idempotency key: the same on every attempt, so the receiver dedups a resend),
webhook-timestamp (this attempt) and webhook-signature. During a secret rotation the body is
signed with both secrets, so a receiver that still knows only the previous one accepts it.

Classification follows the spec (5b.3): 2xx delivered; a redirect is never followed and, as
every channel takes it, disables the endpoint until its URL is fixed (each later delivery
would be redirected too: docs/channels.md#answers-from-something-else); 410 Gone disables
the endpoint; a Retry-After is honoured on 408, 425, 429 and 5xx (``http.told_wait``);
other 4xx will not change on a resend. A read
timeout is UNKNOWN: the request may have been processed, and resending is safe because the
receiver dedups on webhook-id. Settings: "url"; secrets: "secret" and, while rotating,
"previous_secret" ("whsec_<base64>"). The URL is never put in a detail (it may hold a token).
"""

from __future__ import annotations

import httpx

from alerts import clock
from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import post
from alerts.channels.http import retryable
from alerts.channels.http import told_wait
from alerts.channels.http import transport_outcome
from alerts.channels.webhook_signing import secret_key
from alerts.channels.webhook_signing import sign_headers

CHANNEL = "webhook"


async def send(http: httpx.AsyncClient, account: Account, item: Item) -> Outcome:
    """POST one rendering to the unit's webhook endpoint and classify the answer."""
    if item.target != "broadcast":
        return Outcome(Reaction.GIVE_UP, "webhooks go to the unit's endpoint ('broadcast') only")
    url = account.settings.get("url", "").strip()
    secrets = [account.secrets.get("secret", ""), account.secrets.get("previous_secret", "")]
    try:
        for secret in filter(None, secrets):
            secret_key(secret)
    except ValueError as exc:
        return Outcome(Reaction.DISABLE_CHANNEL, f"secrets: {exc}")
    if not url or not secrets[0]:
        return Outcome(Reaction.DISABLE_CHANNEL, "settings: the endpoint needs a url and a secret")
    try:
        body = item.rendering.parts["json"].encode("utf-8")
        headers = sign_headers(
            secrets[0],
            msg_id=item.idempotency_key,
            timestamp=int(clock.utcnow().timestamp()),
            body=body,
            extra_secrets=[s for s in secrets[1:] if s],
        )
    except (KeyError, ValueError) as exc:
        return Outcome(Reaction.GIVE_UP, f"not signable: {exc}"[:200])
    headers["content-type"] = "application/json"
    return await _post(http, url, body, headers)


async def _post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    try:
        # None of the answer's body is read: a receiver cannot make us download.
        response, _ = await post(http, url, limit=0, content=body, headers=headers)
    except SEND_ERRORS as exc:
        # Only the exception's class: its message may quote the URL.
        outcome = transport_outcome(exc, with_message=False)
        if outcome.reaction is not Reaction.UNKNOWN:
            return outcome
        detail = f"{outcome.detail}: it may have been processed; resending is safe,"
        return Outcome(Reaction.UNKNOWN, f"{detail} the receiver dedups on webhook-id")
    return classify(response, headers["webhook-id"])


def classify(response: httpx.Response, msg_id: str) -> Outcome:
    """Map the receiver's status (and Retry-After) to a reaction (Standard Webhooks 5b.3)."""
    status = response.status_code
    detail = f"HTTP {status} {response.reason_phrase}".strip()[:120]
    if 200 <= status < 300:
        return Outcome(Reaction.OK, detail, provider_id=msg_id, status_code=status)
    if 300 <= status < 400:
        detail += ": a redirect; redirects are not followed, update the endpoint URL"
        return Outcome(Reaction.DISABLE_CHANNEL, detail, status_code=status)
    if status == 410:
        detail += ": the endpoint is gone; disabled as the spec asks"
        return Outcome(Reaction.DISABLE_CHANNEL, detail, status_code=status)
    if retryable(status):
        wait = told_wait(status, response.headers)
        if wait is not None:
            return Outcome(Reaction.RETRY_AFTER, detail, retry_after=wait, status_code=status)
        return Outcome(Reaction.RETRY_BACKOFF, detail, status_code=status)
    return Outcome(Reaction.GIVE_UP, detail, status_code=status)
