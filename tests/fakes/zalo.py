"""Fake Zalo OA Open API (openapi.zalo.me) and its token endpoint (oauth.zaloapp.com).

Behaves as Zalo's OA docs describe (https://docs.zaloplatforms.com/docs/OA/): every answer
is HTTP 200 with the envelope ``{"error", "message", "data"}``; the ``access_token``
header is checked (-216 unknown, -220 expired); the refresh token is single-use and rotates;
the consultation text is limited to 2,000 characters (-210) and needs an interaction in the
last 7 days (-230); an article answers -214 on its first verify; 4,000 requests a minute per
app (-32), with the ``X-RateLimit-*`` headers. Mounted at /zalo, so an account's ``base_url``
and its ``oauth_url`` setting are both ``<fake>/zalo``.

Tests and the demo reach the fake OA through ``oa(state)``: tokens, users' states,
articles and what was sent. Queued failures (``state.fail("zalo", ...)``): kind="error"
with code (and message), kind="http" with status (and retry_after), kind="hang" with
seconds (then answers normally), kind="malformed" (a 200 that is not JSON). Besides the
per-minute limit (``oa(state).per_minute``), the "rate-limit" mode (``per_second`` requests
per sliding second of arrivals; or ``state.limits["zalo"]``) answers -32 as well; "hang"
and "trickle" are ``modes.py``'s.

Calling us (../shared/channels-inbound.md §1, §6): events are POSTed with
``X-ZEvent-Signature: mac=<sha256(app_id ‖ body ‖ timestamp ‖ OA_SECRET)>`` (``sign``).
``POST /zalo/_control/webhook`` {"url", "receipts", "secret"?} registers our webhook and
the OA secret key that signs what is sent there (``OA_SECRET`` unless given: the demo's is
made per install): from then on, every consultation message the OA accepts is followed on
a thread by a ``user_received_message`` and a ``user_seen_message`` for its message_id
("receipts": "seen", the default; "received" for the first only; "none"), each answer kept in
``oa(state).callbacks`` as (event name, HTTP status). ``POST /zalo/_control/event``
{"event", "user_id", optional "url", "text", "msg_id", "msg_ids", "timestamp", "app_id",
"oa_id", "num_retry", "wrong_mac", "tamper"} sends one event (``make_event``) and answers
{"status", "body", "elapsed"}; "wrong_mac" signs with another secret, "tamper" changes one
byte of the body after signing; a resident's text also counts as their interaction.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass
from dataclasses import field

import httpx
from flask import Blueprint
from flask import jsonify
from flask import request
from werkzeug.serving import WSGIRequestHandler

from tests.fakes.esms import on_loopback
from tests.fakes.failures import answer_queued
from tests.fakes.modes import throttle
from tests.fakes.state import FakeState

ACCESS_TOKEN = "zalo-access-1"
REFRESH_TOKEN = "zalo-refresh-1"
APP_ID = "zalo-app-1"
SECRET_KEY = "zalo-secret-1"
OA_ID = "3886132808700000001"
OA_SECRET = "zalo-oa-secret-1"  # the OA secret key that signs webhook events (not the app's)
ACCESS_LIFETIME = 90000  # 25 hours
TEXT_LIMIT = 2000
INTERACTION_WINDOW = 7 * 24 * 3600
PER_MINUTE = 4000
# What a user's state answers to a consultation message
# (https://docs.zaloplatforms.com/docs/OA/phu-luc/ma-loi).
USER_ERRORS = {
    "unfollowed": (-213, "User has not followed OA"),
    "blocked": (-217, "User has blocked invitation from OA"),
    "banned": (-227, "User is banned or inactive > 45 days"),
    "restricted": (-244, "User has restricted this message type"),
}
MESSAGES = {
    -32: "Your application reached limit call api",
    -200: "Send message failed",
    -201: "Parameters are invalid!",
    -204: "Offical Account is disable",
    -210: "Parameter exceeds allowable limit",
    -211: "Out of quota",
    -213: "User has not followed OA",
    -214: "Article is being processed",
    -216: "Access token is invalid",
    -220: "access_token is expired or removed",
    -224: "OA needs to upgrade package",
    -227: "User is banned or inactive > 45 days",
    -230: "User has not interacted with the OA in the past 7 days",
    -234: "Cannot be sent at night",
    -240: "MessageV2 API has been shut down, please switch to MessageV3",
    -320: "Needs Zalo Cloud Account",
}
# [UNVERIFIED] Zalo documents no code for a refused refresh token (docs/channels.md#zalo).
REFRESH_REFUSED = -14014
APP_REFUSED = -14002


@dataclass
class OA:
    """The fake OA's server-side state (one per fake server; reset with it)."""

    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch)
    refresh_token: str = REFRESH_TOKEN
    used_refresh_tokens: set[str] = field(default_factory=set)
    app_id: str = APP_ID
    secret_key: str = SECRET_KEY
    users: dict[str, str] = field(default_factory=dict)  # user_id -> a USER_ERRORS key
    interactions: dict[str, float] = field(default_factory=dict)  # user_id -> last (epoch)
    articles: dict[str, dict] = field(default_factory=dict)  # token -> article
    verify_pending: int = 1  # -214 answers before an article has its id
    id_key: str = "id"  # some clients read "article_id"
    per_minute: int = PER_MINUTE
    window: tuple[int, int] = (0, 0)  # (minute, requests in it)
    messages: list[dict] = field(default_factory=list)
    broadcasts: list[dict] = field(default_factory=list)
    issued: int = 1
    webhook: str = ""  # our endpoint, once registered: receipts go there
    receipts: str = "seen"
    oa_secret: str = OA_SECRET  # what the events are signed with
    callbacks: list[tuple[str, int | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        if not self.access_tokens:
            self.access_tokens[ACCESS_TOKEN] = time.time() + ACCESS_LIFETIME

    def expire(self, token: str = ACCESS_TOKEN) -> None:
        """Let an access token run out (it then answers -220)."""
        with self.lock:
            self.access_tokens[token] = time.time() - 1

    def stale(self, user_id: str, days: float = 8) -> None:
        """Record the user's last interaction ``days`` ago (over 7 answers -230)."""
        with self.lock:
            self.interactions[user_id] = time.time() - days * 24 * 3600


class UnderscoreHeaders(WSGIRequestHandler):
    """Keep request headers whose names hold underscores, as Zalo's ``access_token`` and
    ``secret_key`` do. Werkzeug drops them (so a proxy cannot smuggle ``X_Forwarded_For``);
    the fake server must be made with ``make_server(..., request_handler=UnderscoreHeaders)``
    or it answers -216 to every request. WSGI spells both "access_token" and "access-token"
    ``HTTP_ACCESS_TOKEN``, so the names as sent are kept in ``environ["fakes.underscored"]``.
    """

    def make_environ(self):
        environ = super().make_environ()
        underscored = set()
        for key, value in self.headers.items():
            if "_" in key:
                underscored.add(key.lower())
                environ["HTTP_" + key.upper().replace("-", "_")] = value.replace("\r\n", "")
        environ["fakes.underscored"] = underscored
        return environ


def _header(name: str) -> str:
    """Return a header Zalo names with an underscore; the dashed spelling does not count."""
    underscored = request.environ.get("fakes.underscored")
    if underscored is not None and name not in underscored:
        return ""
    return request.headers.get(name, "")


def oa(state: FakeState) -> OA:
    """Return the fake OA of this server, created with the known tokens on first use."""
    with state.lock:
        return state.extra.setdefault("zalo", OA())


def _answer(code: int = 0, data: dict | None = None, message: str | None = None):
    body = {"error": code, "message": message or MESSAGES.get(code, "Error")}
    if code == 0:
        body = {"data": data or {}, "error": 0, "message": "Success"}
    return jsonify(body)


def _failure(state: FakeState, oauth: bool = False):
    """Answer a queued failure, or None to go on (after a hang, the request goes on)."""

    def error(failure: dict):
        code = int(failure.get("code", -200))
        if oauth:
            description = failure.get("message")
            return jsonify(error=code, error_name="Error", error_description=description)
        return _answer(code, message=failure.get("message"))

    return answer_queued(state, "zalo", error)


def _limited(state: FakeState, account: OA):
    """Count the request in its minute; answer -32 past the limit (or a per-second limit)."""
    minute = int(time.time() // 60)
    with account.lock:
        start, count = account.window
        count = count + 1 if start == minute else 1
        account.window = (minute, count)
    per_second = throttle(state, "zalo", state.rate("zalo"))  # counted either way
    if count > account.per_minute or per_second is not None:
        return _answer(-32)
    return None


def _token_error(account: OA) -> int | None:
    token = _header("access_token")
    with account.lock:
        expires = account.access_tokens.get(token)
    if expires is None:
        return -216
    return -220 if expires < time.time() else None


def _guard(state: FakeState):
    """Apply, in Zalo's order, a queued failure, the rate limit and the token check."""
    account = oa(state)
    answer = _failure(state) or _limited(state, account)
    if answer is not None:
        return answer
    code = _token_error(account)
    if code is not None:
        return _answer(code)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _answer(-201, message="body is invalid!")
    return None


def _with_headers(state: FakeState, response):
    account = oa(state)
    with account.lock:
        used = account.window[1]
    response.headers["X-RateLimit-Limit"] = str(account.per_minute)
    response.headers["X-RateLimit-Remain"] = str(max(0, account.per_minute - used))
    return response


def sign(body: bytes, timestamp: str, app_id: str = APP_ID, secret: str = OA_SECRET) -> str:
    """Zalo's webhook signature: plain SHA-256 of app id, body, timestamp and secret."""
    joined = app_id.encode() + body + timestamp.encode() + secret.encode()
    return "mac=" + hashlib.sha256(joined).hexdigest()


def make_event(name: str, user_id: str, **options) -> dict:
    """One webhook event in Zalo's envelope for its direction (§1.4)."""
    stamp = str(options.get("timestamp") or int(time.time() * 1000))
    app_id, oa_id = options.get("app_id", APP_ID), options.get("oa_id", OA_ID)
    if name in ("follow", "unfollow"):
        return {
            "oa_id": oa_id,
            "follower": {"id": user_id},
            "user_id_by_app": "55" + user_id,
            "event_name": name,
            "source": "oa_profile",
            "app_id": app_id,
            "timestamp": stamp,
        }
    if name in ("user_received_message", "user_seen_message"):
        sides = {"sender": {"id": oa_id}, "recipient": {"id": user_id}}
        ids = options.get("msg_ids") or [options.get("msg_id", "")]
        message = {"msg_id": ids[0]} if name == "user_received_message" else {"msg_ids": ids}
    else:
        sides = {"sender": {"id": user_id}, "recipient": {"id": oa_id}}
        message = {"msg_id": options.get("msg_id") or uuid.uuid4().hex[:20]}
        message["text"] = options.get("text", "")
    body = {"app_id": app_id, "user_id_by_app": "55" + user_id, "event_name": name, **sides}
    return {**body, "message": message, "timestamp": stamp}


def send_event(url: str, event: dict, **options) -> httpx.Response:
    """POST one event to our webhook, signed as Zalo signs it (or wrongly, on request)."""
    raw = json.dumps(event, ensure_ascii=False).encode()
    secret = "not-the-oa-secret" if options.get("wrong_mac") else options.get("secret", OA_SECRET)
    headers = {
        "Content-Type": "application/json",
        "X-ZEvent-Signature": sign(raw, event["timestamp"], secret=secret),
    }
    if options.get("num_retry"):
        headers["num_retry"] = str(options["num_retry"])
    if options.get("tamper"):
        raw = raw.replace(b'"55', b'"56', 1)  # one byte: still JSON, no longer signed
    return httpx.post(url, content=raw, headers=headers, timeout=10.0)


def _receipts(account: OA, user_id: str, message_id: str) -> None:
    """Tell our webhook the message arrived, then that it was seen, as the OA does."""
    names = {"seen": ["user_received_message", "user_seen_message"]}
    for name in names.get(account.receipts, ["user_received_message"]):
        time.sleep(0.05)
        try:
            event = make_event(name, user_id, msg_id=message_id)
            status = send_event(account.webhook, event, secret=account.oa_secret).status_code
        except httpx.TransportError:
            status = None
        with account.lock:
            account.callbacks.append((name, status))


def _emit(account: OA, body: dict):
    """The control API's event: build it, sign it, tell what our endpoint answered."""
    url = str(body.pop("url", "") or account.webhook)
    if not on_loopback(url):
        return jsonify(ok=False, error="the fakes call loopback addresses only"), 400
    name, user_id = str(body.pop("event")), str(body.pop("user_id"))
    if name == "user_send_text":
        with account.lock:
            account.interactions[user_id] = time.time()
    event = make_event(name, user_id, **body)
    started = time.monotonic()
    answer = send_event(url, event, **{"secret": account.oa_secret, **body})
    return jsonify(status=answer.status_code, body=answer.text, elapsed=time.monotonic() - started)


def _consultation(account: OA, body: dict):
    recipient = body.get("recipient")
    user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
    if not isinstance(user_id, str) or not user_id.isdigit():
        return _answer(-201, message="recipient is invalid!")
    message = body.get("message")
    text = message.get("text") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        return _answer(-201, message="message is invalid!")
    if len(unicodedata.normalize("NFC", text)) > TEXT_LIMIT:
        return _answer(-210)
    with account.lock:
        status = account.users.get(user_id)
        last = account.interactions.get(user_id, time.time())
        if status in USER_ERRORS:
            code, text = USER_ERRORS[status]
            return _answer(code, message=text)
        if time.time() - last > INTERACTION_WINDOW:
            return _answer(-230)
        message_id = f"{len(account.messages) + 1:020x}"
        account.messages.append({"message_id": message_id, "user_id": user_id, "text": text})
        tell = on_loopback(account.webhook) and account.receipts != "none"
    if tell:
        threading.Thread(target=_receipts, args=(account, user_id, message_id), daemon=True).start()
    sent = str(int(time.time() * 1000))
    return _answer(data={"message_id": message_id, "user_id": user_id, "sent_time": sent})


def _create(account: OA, body: dict):
    for name in ("title", "author", "description"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return _answer(-201, message=f"{name} is invalid!")
    cover = body.get("cover")
    if not isinstance(cover, dict) or not str(cover.get("photo_url", "")).startswith("http"):
        return _answer(-201, message="cover is invalid!")
    blocks = body.get("body")
    if not isinstance(blocks, list) or not blocks:
        return _answer(-201, message="body is invalid!")
    with account.lock:
        n = len(account.articles) + 1
        token = f"tok_{n}"
        article = {"id": f"art_{n}", "verifies": 0, "request": body}
        account.articles[token] = article
    return _answer(data={"token": token})


def _verify(account: OA, body: dict):
    with account.lock:
        article = account.articles.get(str(body.get("token", "")))
        if article is None:
            return _answer(-201, message="token is invalid!")
        article["verifies"] += 1
        if article["verifies"] <= account.verify_pending:
            return _answer(-214)
    return _answer(data={account.id_key: article["id"]})


def _target_ok(target: object) -> bool:
    """Accept the target fields as strings, integers or arrays: the official Java SDK sends
    integers, other clients strings or arrays (https://github.com/zaloplatform/zalo-java-sdk)."""
    if not isinstance(target, dict):
        return False
    known = {"ages", "gender", "locations", "cities", "platform"}
    return set(target) <= known and all(isinstance(v, str | int | list) for v in target.values())


def _broadcast(account: OA, body: dict):
    recipient = body.get("recipient")
    if isinstance(recipient, dict) and "user_id" in recipient:
        return _answer(-240)
    if not isinstance(recipient, dict) or not _target_ok(recipient.get("target")):
        return _answer(-201, message="recipient is invalid!")
    try:
        payload = body["message"]["attachment"]["payload"]
        element = payload["elements"][0]
    except (KeyError, IndexError, TypeError):
        return _answer(-201, message="message is invalid!")
    if payload.get("template_type") != "media" or element.get("media_type") != "article":
        return _answer(-233, message="message type is invalid or not support")
    with account.lock:
        ready = {
            a["id"] for a in account.articles.values() if a["verifies"] > account.verify_pending
        }
        if element.get("attachment_id") not in ready:
            return _answer(-201, message="attachment_id is invalid!")
        message_id = f"b{len(account.broadcasts) + 1:019x}"
        account.broadcasts.append({"message_id": message_id, "request": body})
    return _answer(data={"message_id": message_id})


def _refresh(state: FakeState):
    """Rotate the pair: the old refresh token is spent, a new access token is issued."""
    answer = _failure(state, oauth=True)
    if answer is not None:
        return answer
    account = oa(state)
    form = request.form
    secret = _header("secret_key")
    if form.get("app_id") != account.app_id or secret != account.secret_key:
        return _token_refused(APP_REFUSED, "Invalid app_id or secret_key")
    if form.get("grant_type") != "refresh_token":
        return _token_refused(-14001, "Invalid grant_type", "only refresh_token is faked")
    with account.lock:
        given = form.get("refresh_token")
        if given != account.refresh_token:
            used = given in account.used_refresh_tokens
            reason = "refresh_token is already used" if used else "refresh_token is invalid"
            return _token_refused(REFRESH_REFUSED, "Refresh token is invalid", reason)
        account.used_refresh_tokens.add(account.refresh_token)
        account.issued += 1
        access = f"zalo-access-{account.issued}"
        account.refresh_token = f"zalo-refresh-{account.issued}"
        account.access_tokens[access] = time.time() + ACCESS_LIFETIME
        pair = {"access_token": access, "refresh_token": account.refresh_token}
    return jsonify(**pair, expires_in=str(ACCESS_LIFETIME))


def _token_refused(code: int, description: str, reason: str = ""):
    return jsonify(
        error=code, error_name=description, error_reason=reason, error_description=description
    )


def blueprint(state: FakeState) -> Blueprint:
    """Return the fake Zalo OA and token endpoints."""
    bp = Blueprint("zalo", __name__)
    handlers = {
        "/v3.0/oa/message/cs": _consultation,
        "/v2.0/article/create": _create,
        "/v2.0/article/verify": _verify,
        "/v2.0/oa/message": _broadcast,
    }

    def view(handler):
        def run():
            answer = _guard(state)
            if answer is None:
                answer = handler(oa(state), request.get_json())
            return _with_headers(state, answer)

        return run

    for path, handler in handlers.items():
        bp.add_url_rule(path, handler.__name__.strip("_"), view(handler), methods=["POST"])
    bp.add_url_rule(
        "/v4/oa/access_token", "access_token", lambda: _refresh(state), methods=["POST"]
    )

    @bp.post("/_control/webhook")
    def register_webhook():
        body, account = dict(request.get_json() or {}), oa(state)
        with account.lock:
            account.webhook = str(body.get("url", ""))
            account.receipts = str(body.get("receipts", "seen"))
            account.oa_secret = str(body.get("secret") or OA_SECRET)
        return jsonify(ok=True)

    @bp.post("/_control/event")
    def emit_event():
        return _emit(oa(state), dict(request.get_json() or {}))

    return bp
