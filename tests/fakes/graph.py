"""Fake Facebook Graph API (graph.facebook.com): Page posts, as Meta documents them
(https://developers.facebook.com/docs/pages-api/posts).

``POST /{version}/{page-id}/feed`` (and ``/photos``) take form or JSON fields; the Page
access token comes in ``access_token`` (or an ``Authorization: Bearer`` header). Errors are
Graph's error object, with HTTP 400 even when throttled: 104 without a token, 190 for a
wrong (or expired: 463) token, 100/33 for an unknown Page, 100 for a bad parameter, 506
for the same message twice in a row, 100/1609005 for a link that cannot be read, 80001
past the Page's budget with ``estimated_time_to_regain_access`` (minutes) in
``X-Business-Use-Case-Usage``. Every answer carries ``X-App-Usage`` and that header.

Tests and the demo reach the fake Pages through ``pages(state)``. Queued failures
(``state.fail("graph", ...)``): kind="error" with code (optional subcode, status, message,
transient, retry_after), kind="ratelimit" with code (32, 80001 ...) and minutes, kind="http"
with status (and retry_after), kind="hang" with seconds (then answers normally),
kind="malformed".
The "rate-limit" mode (``per_second`` calls per sliding second of arrivals, every Page
together; or ``state.limits["graph"]``) answers as Graph throttles: HTTP 400, error ``code``
(default 80001) and ``minutes`` (default the Pages' ``regain_minutes``) as
``estimated_time_to_regain_access``; "hang" and "trickle" are ``modes.py``'s.

Messenger and webhooks (../shared/channels-inbound.md §2): the Send API
``POST /{version}/me/messages`` (or ``/{page-id}/messages``) accepts a ``recipient.id``
(PSID) and a ``message`` with a ``messaging_type`` and answers ``recipient_id`` and
``message_id`` (a ``mid``); ``POST /{version}/{page-id}/subscribed_apps`` installs the app on
the Page (``subscribed_fields`` required). The fake also calls us, on loopback only:
``POST /graph/_control/webhook`` {"url", "event": message | postback | comment | delivery |
read, "psid", "text"?, "mid"?, "page_id"?, "time"? (the entry's, epoch ms), "times"? (the
same bytes sent again), "signature": "wrong" | "none"?} POSTs the notification Meta would,
its JSON in Meta's escaped-unicode form and signed with ``X-Hub-Signature-256`` under the
app secret (a delivery names the mids the Send API accepted for that PSID and not yet
reported); ``POST /graph/_control/handshake`` {"url", "verify_token"?, "mode"?,
"challenge"?} makes the GET verification request. Both answer what our endpoint answered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import httpx
from flask import Blueprint
from flask import jsonify
from flask import request

from tests.fakes.esms import on_loopback
from tests.fakes.failures import answer_queued
from tests.fakes.modes import throttle
from tests.fakes.state import FakeState

PAGE_ID = "104857600000001"
PAGE_TOKEN = "fb-page-token-1"
APP_SECRET = "fb-app-secret-0123456789abcdef"  # the Meta app's: it signs the webhooks
VERIFY_TOKEN = "fb-verify-token-0123456789"  # entered in the App Dashboard beside our URL
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
MESSAGE_LIMIT = 63206
SCHEDULE_MIN, SCHEDULE_MAX = 10 * 60, 30 * 24 * 3600
MESSAGES = {
    1: "An unknown error has occurred.",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) Application does not have permission for this action",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    200: "(#200) Permissions error",
    368: "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
    506: "(#506) Duplicate status message",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again.",
}
TRANSIENT = {1, 2}


@dataclass
class Pages:
    """The fake Pages' server-side state (one per fake server; reset with it)."""

    tokens: dict[str, str] = field(default_factory=lambda: {PAGE_ID: PAGE_TOKEN})
    expired: set[str] = field(default_factory=set)  # tokens that answer 190/463
    unreadable_links: set[str] = field(default_factory=set)  # links that answer 1609005
    hourly_budget: int = 0  # calls per Page per rolling hour; 0 = unlimited
    regain_minutes: int = 5
    calls: dict[str, list[float]] = field(default_factory=dict)
    posts: list[dict] = field(default_factory=list)
    last_message: dict[str, str] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)  # Send API: mid, psid, page_id, text
    reported: set[str] = field(default_factory=set)  # mids a delivery webhook named
    subscribed: dict[str, list[str]] = field(default_factory=dict)  # page id -> fields
    lock: threading.Lock = field(default_factory=threading.Lock)

    def usage(self, page_id: str) -> int:
        """Return the Page's share of its hourly budget used, in percent."""
        with self.lock:
            calls = self.calls.get(page_id, [])
            calls[:] = [t for t in calls if time.time() - t < 3600]
            if not self.hourly_budget:
                return min(100, len(calls))
            return min(100, len(calls) * 100 // self.hourly_budget)


def pages(state: FakeState) -> Pages:
    """Return the fake Pages of this server, with the known Page and token on first use."""
    with state.lock:
        return state.extra.setdefault("graph", Pages())


def _trace() -> str:
    return "A" + format(time.time_ns() % 16**12, "012x")


def _usage_headers(page_id: str, percent: int, minutes: int = 0) -> dict[str, str]:
    usage = {"call_count": percent, "total_cputime": percent // 4, "total_time": percent // 3}
    buc = [{"type": "pages", **usage, "estimated_time_to_regain_access": minutes}]
    return {
        "X-App-Usage": json.dumps(usage),
        "X-Business-Use-Case-Usage": json.dumps({page_id: buc}),
    }


def _error(code: int, message: str | None = None, *, subcode: int | None = None, status=None):
    error = {"message": message or MESSAGES.get(code, f"(#{code}) Error")}
    error.update(type="OAuthException" if code != 1 else "GraphMethodException", code=code)
    if subcode:
        error["error_subcode"] = subcode
    if code in TRANSIENT:
        error["is_transient"] = True
    error["fbtrace_id"] = _trace()
    response = jsonify(error=error)
    response.status_code = status or (500 if code in TRANSIENT else 400)
    return response


def _failure(failure: dict, page_id: str):
    """Answer a queued "ratelimit" or "error" failure (``answer_queued`` does the rest)."""
    if failure["kind"] == "ratelimit":
        return _throttled(page_id, int(failure.get("code", 80001)), int(failure.get("minutes", 5)))
    code = int(failure.get("code", 1))
    response = _error(code, failure.get("message"), subcode=failure.get("subcode"))
    if failure.get("status"):
        response.status_code = int(failure["status"])
    if "transient" in failure:
        body = response.get_json()
        body["error"]["is_transient"] = bool(failure["transient"])
        response.set_data(json.dumps(body))
    if "retry_after" in failure:
        response.headers["Retry-After"] = str(failure["retry_after"])
    return response


def _throttled(page_id: str, code: int, minutes: int):
    response = _error(code)
    response.headers.update(_usage_headers(page_id, 100, minutes))
    return response


def _params() -> dict:
    """Merge the query string, the form and a JSON body, as Graph accepts all three."""
    params = {**request.args.to_dict(), **request.form.to_dict()}
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        params.update(body)
    auth = request.headers.get("Authorization", "")
    if auth.startswith(("Bearer ", "OAuth ")) and "access_token" not in params:
        params["access_token"] = auth.split(" ", 1)[1].strip()
    return params


def _access(state: FakeState, page_id: str, params: dict):
    """Check the token and the Page's budget; return an error answer or None."""
    book = pages(state)
    token = params.get("access_token")
    if not token:
        return _error(104, "An access token is required to request this resource.")
    if page_id not in book.tokens:
        message = (
            f"Unsupported post request. Object with ID '{page_id}' does not exist, cannot be"
            " loaded due to missing permissions, or does not support this operation."
        )
        return _error(100, message, subcode=33)
    if token in book.expired:
        return _error(190, "Error validating access token: Session has expired.", subcode=463)
    if token != book.tokens[page_id]:
        return _error(190)
    if book.hourly_budget and book.usage(page_id) >= 100:
        return _throttled(page_id, 80001, book.regain_minutes)
    if throttle(state, "graph", state.rate("graph")) is not None:
        mode = state.mode("graph")
        options = mode.options if mode is not None else {}
        code = int(options.get("code", 80001))
        return _throttled(page_id, code, int(options.get("minutes", book.regain_minutes)))
    with book.lock:
        book.calls.setdefault(page_id, []).append(time.time())
    return None


def _page_of_token(state: FakeState, params: dict) -> str:
    """``me`` with a Page access token is that Page."""
    book = pages(state)
    found = [page for page, token in book.tokens.items() if token == params.get("access_token")]
    return found[0] if found else "me"


def _schedule_error(params: dict):
    if str(params.get("published", "true")).lower() not in ("false", "0"):
        return None
    when = params.get("scheduled_publish_time")
    try:
        at = float(when) if str(when).isdigit() else datetime.fromisoformat(when).timestamp()
    except (TypeError, ValueError):
        return _error(100, "(#100) The specified scheduled publish time is invalid.")
    if not SCHEDULE_MIN <= at - time.time() <= SCHEDULE_MAX:
        return _error(100, "(#100) The specified scheduled publish time is invalid.")
    return None


def _feed(state: FakeState, page_id: str, params: dict):
    book = pages(state)
    message, link = params.get("message", ""), params.get("link")
    if not message and not link:
        return _error(100, "(#100) Missing message or attachment")
    if len(message) > MESSAGE_LIMIT:
        return _error(100, f"(#100) Param message must be at most {MESSAGE_LIMIT} characters")
    if link and not re.match(r"https?://[^\s/]+", link):
        return _error(100, "(#100) The link URL is not properly formatted")
    if link in book.unreadable_links:
        return _error(100, "Error Posting Link", subcode=1609005)
    answer = _schedule_error(params)
    if answer is not None:
        return answer
    with book.lock:
        if message and book.last_message.get(page_id) == message:
            return _error(506)
        book.last_message[page_id] = message
        post_id = f"{page_id}_{len(book.posts) + 1}"
        book.posts.append({"id": post_id, "page_id": page_id, "message": message, "link": link})
    return jsonify(id=post_id)


def _photo(state: FakeState, page_id: str, params: dict):
    book = pages(state)
    if not params.get("url") and "source" not in request.files:
        return _error(100, "(#324) Requires upload file")
    answer = _schedule_error(params)
    if answer is not None:
        return answer
    with book.lock:
        n = len(book.posts) + 1
        post = {"id": f"{page_id}_{n}", "page_id": page_id, "caption": params.get("caption")}
        book.posts.append({**post, "url": params.get("url")})
    return jsonify(id=f"55500011{n:07d}", post_id=post["id"])


def _json_param(value) -> dict:
    """A Send API parameter: an object in a JSON body, JSON text in a form."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _send_message(state: FakeState, page_id: str, params: dict):
    """The Send API: one message to a PSID, answered with its mid."""
    psid = str(_json_param(params.get("recipient")).get("id") or "")
    message = _json_param(params.get("message"))
    if params.get("messaging_type") not in MESSAGING_TYPES:
        return _error(100, "(#100) The parameter messaging_type is required")
    if not psid.isdigit():
        return _error(100, "(#100) The parameter recipient is required")
    if not message.get("text") and not message.get("attachment"):
        return _error(100, "(#100) The parameter message is required")
    mid = f"m_{uuid.uuid4().hex}"
    book = pages(state)
    with book.lock:
        sent = {"mid": mid, "psid": psid, "page_id": page_id, "text": message.get("text")}
        book.messages.append(sent)
    return jsonify(recipient_id=psid, message_id=mid)


def _subscribe_app(state: FakeState, page_id: str, params: dict):
    """Install the app on the Page for the fields asked."""
    fields = [f for f in str(params.get("subscribed_fields") or "").split(",") if f.strip()]
    if not fields:
        return _error(100, "(#100) The parameter subscribed_fields is required")
    book = pages(state)
    with book.lock:
        book.subscribed[page_id] = [f.strip() for f in fields]
    return jsonify(success=True)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _messaging(state: FakeState, order: dict, page_id: str) -> dict:
    """One ``messaging[]`` item of the kind the control call asked for."""
    psid, now = str(order.get("psid") or "7200000000000001"), _now_ms()
    item = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": now}
    event = order.get("event", "message")
    mid = order.get("mid") or f"m_{uuid.uuid4().hex}"
    if event == "message":
        item["message"] = {"mid": mid, "text": order.get("text", "Tin này có thật không?")}
    elif event == "postback":
        item["postback"] = {"mid": mid, "title": "Bắt đầu", "payload": order.get("text", "START")}
    elif event == "delivery":
        book = pages(state)
        with book.lock:
            mids = [m["mid"] for m in book.messages if m["psid"] == psid]
            mids = [m for m in mids if m not in book.reported]
            book.reported.update(mids)
        item["delivery"] = {"mids": mids, "watermark": now}
    elif event == "read":
        item["read"] = {"watermark": now}
    return item


def _notification(state: FakeState, order: dict) -> dict:
    """The body Meta POSTs for the control call's event."""
    page_id = str(order.get("page_id") or PAGE_ID)
    entry = {"id": page_id, "time": int(order.get("time") or _now_ms())}
    if order.get("event") == "comment":
        comment = order.get("mid") or f"987650000000002_{uuid.uuid4().int % 10**9}"
        value = {
            "item": "comment",
            "verb": "add",
            "post_id": f"{page_id}_987650000000002",
            "comment_id": comment,
            "parent_id": f"{page_id}_987650000000002",
            "from": {"id": str(order.get("psid") or "6100000000000001"), "name": "Nguyễn Văn A"},
            "message": order.get("text", "Số này gọi tự xưng công an, có phải lừa đảo?"),
            "created_time": int(time.time()),
        }
        entry["changes"] = [{"field": "feed", "value": value}]
    else:
        entry["messaging"] = [_messaging(state, order, page_id)]
    return {"object": "page", "entry": [entry]}


def hub_signature(body: bytes, secret: str = APP_SECRET) -> str:
    """Meta's ``X-Hub-Signature-256`` of a body: HMAC-SHA256 under the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(state: FakeState, order: dict) -> dict:
    """POST one notification to our endpoint as Meta does; what it answered, each time."""
    payload = _notification(state, order)
    body = json.dumps(payload, ensure_ascii=True).encode()  # Meta's escaped-unicode form
    headers = {"Content-Type": "application/json"}
    if order.get("signature") == "wrong":
        headers["X-Hub-Signature-256"] = hub_signature(body, "not-the-app-secret")
    elif order.get("signature") != "none":
        headers["X-Hub-Signature-256"] = hub_signature(body)
    answers = []
    for _ in range(int(order.get("times", 1))):
        answer = httpx.post(order["url"], content=body, headers=headers, timeout=5.0)
        answers.append({"status": answer.status_code, "body": answer.text})
    return {"answers": answers, "payload": payload}


def handshake(order: dict) -> dict:
    """Make Meta's verification GET against our endpoint; what it answered."""
    query = {
        "hub.mode": order.get("mode", "subscribe"),
        "hub.challenge": str(order.get("challenge", "1158201444")),
        "hub.verify_token": order.get("verify_token", VERIFY_TOKEN),
    }
    answer = httpx.get(order["url"], params=query, timeout=5.0)
    return {"status": answer.status_code, "body": answer.text}


def _calling_us(call):
    """A control view that calls our endpoint, loopback only."""

    def view():
        order = dict(request.get_json(silent=True) or {})
        if not on_loopback(str(order.get("url", ""))):
            return jsonify(ok=False, error="the fakes call loopback addresses only"), 400
        return jsonify(call(order))

    return view


def blueprint(state: FakeState) -> Blueprint:
    """Return the fake Graph Page endpoints."""
    bp = Blueprint("graph", __name__)

    def view(handler):
        def run(version: str, page_id: str):
            answer = answer_queued(state, "graph", lambda failure: _failure(failure, page_id))
            if answer is None and not re.fullmatch(r"v\d+\.\d+", version):
                answer = _error(2500, "Unknown path components: /" + version)
            if answer is None:
                params = _params()
                page_id = _page_of_token(state, params) if page_id == "me" else page_id
                answer = _access(state, page_id, params) or handler(state, page_id, params)
            usage = _usage_headers(page_id, pages(state).usage(page_id))
            for name, value in usage.items():
                answer.headers.setdefault(name, value)  # a throttled answer has its own
            return answer

        return run

    bp.add_url_rule("/<version>/<page_id>/feed", "feed", view(_feed), methods=["POST"])
    bp.add_url_rule("/<version>/<page_id>/photos", "photos", view(_photo), methods=["POST"])
    bp.add_url_rule(
        "/<version>/<page_id>/messages", "messages", view(_send_message), methods=["POST"]
    )
    bp.add_url_rule(
        "/<version>/<page_id>/subscribed_apps", "apps", view(_subscribe_app), methods=["POST"]
    )
    webhook = _calling_us(lambda order: send_webhook(state, order))
    bp.add_url_rule("/_control/webhook", "webhook", webhook, methods=["POST"])
    bp.add_url_rule("/_control/handshake", "handshake", _calling_us(handshake), methods=["POST"])
    return bp
