"""Fake eSMS.vn brandname SMS gateway (rest.esms.vn): SendMultipleMessage_V4_post_json.

Shapes follow eSMS's own docs (https://github.com/devesms/gitbook_esms_for_develop_v2):
HTTP 200 with a string ``CodeResult``, ``{"CodeResult": "100", "CountRegenerate": 0,
"SMSID": "..."}`` on success and ``ErrorMessage`` instead of ``SMSID`` on an
error; a malformed request gets ``{"error": "Invalid request"}`` (with HTTP 400 here: the
status is not documented). Checks, in order:

- ``ApiKey``/``SecretKey`` against ``state.extra["esms_keys"]`` (default ``API_KEY``,
  ``SECRET_KEY``) -> 101; ``Brandname`` in ``state.extra["esms_brandnames"]`` (default
  ``BRANDNAMES``) -> 104; ``SmsType`` other than "2" (customer care) -> invalid request;
- ``Phone`` as "0" + 9 digits or "84" + 9 digits with a current mobile prefix
  (docs/channels.md#sms) -> 108; numbers in ``state.extra["esms_blocked"]`` (national form) -> 99;
- with ``IsUnicode`` "0", content outside GSM-7 -> 146 (wrong customer-care template: eSMS
  documents no code for it, and a registered template has no diacritics; an assumption);
- ``RequestId`` (at most 50 characters) already used today (Vietnam time) -> 124.

Not modelled: balance (queue code 103), the 1-per-5-minutes rule for the same number and
content in testing.

Calling us back (../shared/channels-inbound.md §4.1, §4.2, §6):

- After accepting a message with a ``CallbackUrl`` on loopback (the fakes call nothing
  else), a thread GETs it with the report's query string, ``SendStatus`` 7 then 5
  (``SendSuccess=1``, or ``SendFailed=1``), repeating a call that times out or cannot
  connect up to 5 times. ``POST /esms/_control/dlr`` (or
  ``state.extra["esms_dlr"]``) chooses: ``outcome`` "delivered" (default), "failed",
  "rejected" (``SendStatus`` 4) or "none" (no callback at all), ``delay`` in seconds before
  the first call (default 0.05), ``wrong_token`` (the URL's last segment replaced).
  Each call made is listed in ``state.extra["esms_callbacks"]`` (status, HTTP answer).
- ``POST /esms/_control/mo`` {"url", "sender", "content", optional "smsid",
  "receiver_time", "wrong_sign", "cpid"} sends a resident's SMS to the short code as eSMS
  does (a GET to our registered URL, ``sign`` computed with ``PRIVATE_KEY``) and answers
  {"status", "body"}: what our endpoint answered.

A rate limit (requests per sliding second of arrivals, off by default), set by the
"rate-limit" mode's ``per_second`` (``state.set_mode("esms", "rate-limit", per_second=5)``)
or ``state.limits["esms"]``, answers HTTP 429 with Retry-After (eSMS documents no answer
for it: an assumption). The "hang" and "trickle" modes are ``modes.py``'s. Queued failures
(``state.fail("esms", kind=...)``): "code" (code, optional message), "http" (status), "hang"
(seconds: wait, then answer normally) and "invalid". Accepted messages are listed in
``state.extra["esms_sent"]``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import threading
import time
import uuid
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import httpx
from flask import Blueprint
from flask import jsonify
from flask import request

from tests.fakes.failures import answer_queued
from tests.fakes.modes import throttle
from tests.fakes.state import FakeState

API_KEY = "FAKEAPIKEY"
SECRET_KEY = "FAKESECRET"
BRANDNAMES = frozenset({"CONGAN_DEMO"})
PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
CPID = "CP0042"  # our CP id for the short code
PRIVATE_KEY = "FAKE-MO-PRIVATE-KEY"  # the short code's PrivateKey, signing inbound SMS
SHORT_CODE = "8079"
CALLBACK_TRIES = 5  # eSMS repeats a callback that times out up to 5 times (§4.1)
REQUIRED = ("ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType")
MESSAGES = {
    "99": "Phone number is blocked",
    "101": "Authorize Failed",
    "102": "No price table",
    "103": "Balance not enough to send message",
    "104": "Brand name code is not exist",
    "108": "Phone number is invalid",
    "124": "Request exist 1",
    "140": "IP is not whitelisted",
    "146": "Sai template Brandname CSKH",
    "177": "Telco is not registered",
}
# GSM 03.38: the basic table (without ESC) and the extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_MOBILE = re.compile(r"0(3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-46-9])\d{7}")


def is_gsm7(text: str) -> bool:
    """Return whether the text can go in GSM-7 (checked here without the app's code)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def national(phone: str) -> str | None:
    """Return the number as "0" + 9 digits if it is a valid mobile number, else None."""
    if phone.startswith("84") and len(phone) == 11:
        phone = "0" + phone[2:]
    return phone if _MOBILE.fullmatch(phone) else None


def _code(code: str, message: str | None = None, **extra):
    body = {"CodeResult": code, "CountRegenerate": 0}
    body["ErrorMessage"] = message or MESSAGES.get(code, "Error")
    return jsonify({**body, **extra})


def _invalid():
    return jsonify(error="Invalid request"), 400


def _queued(failure: dict):
    """Answer a queued "invalid" or "code" failure."""
    if failure["kind"] == "invalid":
        return _invalid()
    code = str(failure.get("code", "99"))
    if code == "100":
        return jsonify(CodeResult="100", CountRegenerate=0, SMSID=uuid.uuid4().hex)
    return _code(code, failure.get("message"))


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))


def _refusal(state: FakeState, body: dict):
    """Return the gateway's error answer for this request, or None if it is accepted."""
    keys = tuple(state.extra.get("esms_keys", (API_KEY, SECRET_KEY)))
    if (body["ApiKey"], body["SecretKey"]) != keys:
        return _code("101")
    if body["Brandname"] not in state.extra.get("esms_brandnames", BRANDNAMES):
        return _code("104")
    if body["SmsType"] != "2":
        return _invalid()
    phone = national(body["Phone"])
    if phone is None:
        return _code("108")
    if phone in state.extra.get("esms_blocked", ()):
        return _code("99")
    if str(body.get("IsUnicode", "0")) == "0" and not is_gsm7(body["Content"]):
        return _code("146", SMSID=uuid.uuid4().hex)
    return None


def _accept(state: FakeState, body: dict):
    request_id = str(body.get("RequestId") or "")
    sms_id = uuid.uuid4().hex
    with state.lock:
        seen = state.extra.setdefault("esms_request_ids", set())
        key = (_today(), request_id)
        duplicate = bool(request_id) and key in seen
        if not duplicate:
            seen.add(key)
            state.extra.setdefault("esms_sent", []).append(
                {
                    "sms_id": sms_id,
                    "phone": national(body["Phone"]),
                    "content": body["Content"],
                    "brandname": body["Brandname"],
                    "request_id": request_id,
                }
            )
    if duplicate:
        return _code("124", SendStatus="5")
    callback = str(body.get("CallbackUrl") or "")
    if on_loopback(callback):
        report = dict(state.extra.get("esms_dlr") or {})
        threading.Thread(
            target=_report, args=(state, callback, sms_id, body, report), daemon=True
        ).start()
    return jsonify(CodeResult="100", CountRegenerate=0, SMSID=sms_id)


def on_loopback(url: str) -> bool:
    """Whether a URL is on this machine: the fakes call nothing else (a demo account's
    CallbackUrl under a real public address is left alone)."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def _statuses(outcome: str) -> list[dict]:
    """The reports' query fields in the order eSMS sends them for an outcome."""
    final = {"SendStatus": "5", "SendSuccess": "1", "SendFailed": "0"}
    if outcome == "failed":
        final = {"SendStatus": "5", "SendSuccess": "0", "SendFailed": "1"}
    if outcome == "rejected":
        return [{"SendStatus": "4", "SendSuccess": "0", "SendFailed": "0"}]
    return [{"SendStatus": "7", "SendSuccess": "0", "SendFailed": "0"}, final]


def _with_wrong_token(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/").rsplit("/", 1)[0] + "/not-the-token"
    return urlunsplit(parts._replace(path=path))


def _report(state: FakeState, url: str, sms_id: str, body: dict, report: dict) -> None:
    """Call our CallbackUrl with each status report, as eSMS does once it knows them."""
    outcome = report.get("outcome", "delivered")
    if outcome == "none":
        return
    time.sleep(float(report.get("delay", 0.05)))
    if report.get("wrong_token"):
        url = _with_wrong_token(url)
    for fields in _statuses(outcome):
        query = {
            "SMSID": sms_id,
            **fields,
            "TotalPrice": "850.0000",
            "TotalReceiver": "1",
            "TotalSent": "1",
            "RequestId": "",
            "TypeId": str(body.get("SmsType", "2")),
            "telcoid": "1",
            "phonenumber": national(body["Phone"]) or "",
            "switchsmsid": "",
        }
        answered = _get(url, query)
        with state.lock:
            state.extra.setdefault("esms_callbacks", []).append((fields["SendStatus"], answered))


def _get(url: str, query: dict) -> int | None:
    """GET our endpoint, repeating on a timeout or a refused connection; its status."""
    for _ in range(CALLBACK_TRIES):
        try:
            return httpx.get(url, params=query, timeout=2.0).status_code
        except httpx.TransportError:
            time.sleep(0.1)
    return None


def mo_sign(cpid: str, sms_id: str, content: str, received: str, key: str = PRIVATE_KEY) -> str:
    """eSMS's signature of an inbound SMS: base64(MD5(cpid smsid content time key))."""
    joined = f"{cpid}{sms_id}{content}{received}{key}".encode()
    return base64.b64encode(hashlib.md5(joined, usedforsecurity=False).digest()).decode()


def send_mo(url: str, sender: str, content: str, **options) -> httpx.Response:
    """Send a resident's SMS to the short code to our URL, as eSMS does (§4.2)."""
    received = options.get("receiver_time") or time.strftime(
        "%Y%m%d%H%M%S", time.gmtime(time.time() + 7 * 3600)
    )
    sms_id = options.get("smsid") or f"MO-{uuid.uuid4().hex[:16]}"
    cpid = options.get("cpid", CPID)
    sign = mo_sign(cpid, sms_id, content, received)
    if options.get("wrong_sign"):
        sign = mo_sign(cpid, sms_id, content, received, "not-the-key")
    query = {
        "sender": sender,
        "content": content,
        "serviceNumber": SHORT_CODE,
        "keyword": content.split(" ", 1)[0].upper() if content.strip() else "",
        "sign": sign,
        "cpid": cpid,
        "smsid": sms_id,
        "receiverTime": received,
    }
    return httpx.get(url, params=query, timeout=5.0)


def blueprint(state: FakeState) -> Blueprint:
    """Return the fake gateway, mounted at /esms (the base URL replacing rest.esms.vn)."""
    bp = Blueprint("esms", __name__)

    @bp.post(PATH)
    def send_message():
        answer = answer_queued(state, "esms", _queued, default_kind="code", http_status=503)
        if answer is not None:
            return answer
        wait = throttle(state, "esms", state.rate("esms"))
        if wait is not None:
            response = jsonify(error="Too many requests")
            response.status_code = 429
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(name), str) and body[name] for name in REQUIRED
        ):
            return _invalid()
        if len(str(body.get("RequestId") or "")) > 50:
            return _invalid()
        refusal = _refusal(state, body)
        return refusal if refusal is not None else _accept(state, body)

    @bp.post("/_control/dlr")
    def choose_reports():
        state.extra["esms_dlr"] = dict(request.get_json() or {})
        return jsonify(ok=True)

    @bp.post("/_control/mo")
    def emit_mo():
        body = dict(request.get_json() or {})
        if not on_loopback(str(body.get("url", ""))):
            return jsonify(ok=False, error="the fakes call loopback addresses only"), 400
        answer = send_mo(body.pop("url"), body.pop("sender"), body.pop("content"), **body)
        return jsonify(status=answer.status_code, body=answer.text)

    return bp
