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
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from flask import Blueprint
from flask import jsonify
from flask import request

from tests.fakes.failures import answer_queued
from tests.fakes.modes import throttle
from tests.fakes.state import FakeState

PAGE_ID = "104857600000001"
PAGE_TOKEN = "fb-page-token-1"
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
                answer = _access(state, page_id, params) or handler(state, page_id, params)
            usage = _usage_headers(page_id, pages(state).usage(page_id))
            for name, value in usage.items():
                answer.headers.setdefault(name, value)  # a throttled answer has its own
            return answer

        return run

    bp.add_url_rule("/<version>/<page_id>/feed", "feed", view(_feed), methods=["POST"])
    bp.add_url_rule("/<version>/<page_id>/photos", "photos", view(_photo), methods=["POST"])
    return bp
