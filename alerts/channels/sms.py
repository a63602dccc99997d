"""SMS through an eSMS.vn-style brandname gateway, to residents only (eSMS's API docs:
https://github.com/devesms/gitbook_esms_for_develop_v2).

One JSON POST to ``SendMultipleMessage_V4_post_json`` per resident, keys in the body, the
rendering's "text" (GSM-7, no diacritics) with ``IsUnicode: "0"``. The answer is HTTP 200 with
a string ``CodeResult`` whatever happened, so the code decides, per the eSMS table.

Each request names our ``CallbackUrl`` (with the account's secret token in its path), where
eSMS reports the final status (``alerts.inbound.sms``).

Retries are safe: ``RequestId`` (the item's idempotency key) is de-duplicated by the gateway
within the day and a repeat answers 124, taken as already sent. A key longer than the 50
characters eSMS allows is replaced by its SHA-256 prefix, still stable per item.
"""

from __future__ import annotations

import hashlib
import re

import httpx

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.http import DETAIL
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import post_json
from alerts.channels.http import retryable
from alerts.channels.http import scrub_outcome
from alerts.channels.http import told_wait
from alerts.channels.http import transport_outcome

CHANNEL = "sms"
DEFAULT_BASE_URL = "https://rest.esms.vn"
PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SMS_TYPE_CSKH = "2"  # customer-care brandname
MAX_REQUEST_ID = 50
CALLBACK_TOKEN = "callback_token"  # the secret in our CallbackUrl (alerts.inbound.sms)
# CodeResult -> reaction and a short English reason (eSMS "Bảng mã lỗi",
# https://github.com/devesms/gitbook_esms_for_develop_v2/blob/master/esms-api/bang-ma-loi.md).
CODES = {
    "100": (Reaction.OK, "accepted"),
    "124": (Reaction.OK, "duplicate RequestId: already accepted"),
    "99": (Reaction.DISABLE_SUBSCRIBER, "phone number blocked on the gateway"),
    "108": (Reaction.DISABLE_SUBSCRIBER, "phone number format invalid"),
    "101": (Reaction.DISABLE_CHANNEL, "wrong ApiKey or SecretKey"),
    "102": (Reaction.DISABLE_CHANNEL, "no price table"),
    "103": (Reaction.DISABLE_CHANNEL, "insufficient balance"),
    "104": (Reaction.DISABLE_CHANNEL, "brandname not existing or not active"),
    "140": (Reaction.DISABLE_CHANNEL, "IP not whitelisted"),
    "146": (Reaction.GIVE_UP, "wrong customer-care template"),
    "177": (Reaction.GIVE_UP, "carrier not registered for the brandname"),
}
_E164_VN = re.compile(r"\+?84(\d{9})|0(\d{9})")


async def send(http: httpx.AsyncClient, account: Account, item: Item) -> Outcome:
    """Send the rendering's text to one resident's phone (E.164) through the gateway."""
    if item.target == "broadcast":
        return Outcome(Reaction.GIVE_UP, "SMS goes to residents only, not as a broadcast")
    phone = national_number(item.target)
    if phone is None:
        return Outcome(Reaction.DISABLE_SUBSCRIBER, "not a Vietnamese mobile number")
    text = item.rendering.parts.get("text", "")
    if not text:
        return Outcome(Reaction.GIVE_UP, "the rendering has no text")
    secrets = (account.secrets.get("api_key", ""), account.secrets.get("secret_key", ""))
    brandname = account.settings.get("brandname", "")
    if not all(secrets) or not brandname:
        return Outcome(Reaction.DISABLE_CHANNEL, "no ApiKey, SecretKey or Brandname configured")
    payload = {
        "ApiKey": secrets[0],
        "SecretKey": secrets[1],
        "Phone": phone,
        "Content": text,
        "Brandname": brandname,
        "SmsType": account.settings.get("sms_type", SMS_TYPE_CSKH),
        "IsUnicode": "0",
        "Sandbox": account.settings.get("sandbox", "0"),
        "RequestId": request_id(item.idempotency_key),
    }
    callback = callback_url(account)
    if callback:
        payload["CallbackUrl"] = callback
    url = (account.base_url or DEFAULT_BASE_URL).rstrip("/") + PATH
    hidden = (*secrets, account.secrets.get(CALLBACK_TOKEN, ""))
    try:
        response, data = await post_json(http, url, payload)
    except SEND_ERRORS as exc:
        return transport_outcome(exc, hidden)
    return scrub_outcome(_classify(response, data), hidden)


def callback_url(account: Account) -> str:
    """Return the ``CallbackUrl`` of every send: the account's hook URL (the "callback_url"
    setting, ``<public URL>/hooks/sms/<account id>``) with its secret ``callback_token`` as
    the last path segment, since eSMS signs no delivery report (channels-inbound.md §4.1).
    Without a token the setting goes as it is (our hook then refuses the reports)."""
    base = account.settings.get("callback_url", "")
    token = account.secrets.get(CALLBACK_TOKEN, "")
    return f"{base.rstrip('/')}/{token}" if base and token else base


def national_number(phone: str) -> str | None:
    """Return a Vietnamese number as the gateway expects it, "0" and 9 digits, or None.

    Accepts E.164 ("+84901234567") and the "84..." and "0..." forms; the gateway itself
    judges the prefix (code 108), as prefixes are still being added (docs/channels.md#sms).
    """
    match = _E164_VN.fullmatch(phone.strip())
    if not match:
        return None
    return "0" + (match.group(1) or match.group(2))


def request_id(key: str) -> str:
    """Return the gateway's RequestId for an idempotency key: the key, or a digest if long."""
    if len(key) <= MAX_REQUEST_ID:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:MAX_REQUEST_ID]


def _classify(response: httpx.Response, data: object) -> Outcome:
    """Map the gateway's answer to a reaction: CodeResult first, then the HTTP status."""
    status = response.status_code
    body = data if isinstance(data, dict) else {}
    if 200 <= status < 300 and "CodeResult" in body:
        code = str(body["CodeResult"])
        reaction, reason = CODES.get(code, (Reaction.GIVE_UP, "unknown code"))
        message = str(body.get("ErrorMessage") or "")
        detail = f"CodeResult {code}: {reason}" + (f" ({message})" if message else "")
        sms_id = str(body["SMSID"]) if reaction == Reaction.OK and body.get("SMSID") else None
        return Outcome(reaction, detail[:DETAIL], provider_id=sms_id, status_code=status)
    if 200 <= status < 300 and not body:
        # Not the gateway's JSON: it may have accepted the message (the RequestId makes a retry
        # safe, and the engine's policy for SMS decides).
        return Outcome(Reaction.UNKNOWN, "a 2xx answer without CodeResult", status_code=status)
    if retryable(status):
        detail = "rate limited" if status == 429 else f"HTTP {status}"
        wait = told_wait(status, response.headers)
        if wait is not None:
            return Outcome(Reaction.RETRY_AFTER, detail, retry_after=wait, status_code=status)
        return Outcome(Reaction.RETRY_BACKOFF, detail, status_code=status)
    if status in (401, 403, 404) or 300 <= status < 400:
        # Refused by a firewall, or the base URL is wrong: nothing will get through.
        return Outcome(Reaction.DISABLE_CHANNEL, f"HTTP {status}", status_code=status)
    # {"error": "Invalid request"} (a malformed request) or another client error.
    detail = f"HTTP {status}: {str(body.get('error') or response.reason_phrase)}"
    return Outcome(Reaction.GIVE_UP, detail[:DETAIL], status_code=status)
