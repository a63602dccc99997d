"""Fake Telegram Bot API (api.telegram.org): sendMessage and getMe, with the real errors.

Answers use the Bot API envelope (https://core.telegram.org/bots/api#making-requests):
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": n, "description": ...}``
with the HTTP status equal to ``error_code``. What it checks, in order:

- the token in ``/bot<token>/`` against ``state.extra["telegram_token"]`` (default
  ``TOKEN``), else 401 Unauthorized;
- the chat: any chat id is accepted except those listed in ``state.extra["telegram_chats"]``
  (chat id as a string -> "blocked", "deactivated", "kicked", "not_member" give 403,
  "unknown" gives 400 "chat not found");
- HTML parse mode with Python's html.parser: only Telegram's tags, balanced, no stray ``<``
  or ``&``, only the named entities lt, gt, amp and quot (nesting rules between entities are
  not checked); then the text length after entity parsing, 1 to 4,096 UTF-16 units;
- Telegram's flood limits, as 429 with ``parameters.retry_after`` and a Retry-After header:
  ``state.limits["telegram:bot"]`` messages/s overall (default 30),
  ``state.limits["telegram:chat"]`` messages/s per chat (default 1) and
  ``state.limits["telegram:group_per_minute"]`` per group or channel (negative ids and
  "@names", default 20); 0 turns a limit off. Each counts the arrivals of sendMessage that
  reach it (the refused ones too) over a sliding second (minute); the "rate-limit" mode's
  ``per_second``, ``per_chat`` and ``per_group_minute`` override them while it lasts.
  "hang" and "trickle" are ``modes.py``'s.

Queued failures (``state.fail("telegram", kind=...)``): "error" (status, description,
optional retry_after and parameters), "429" (retry_after or after), "http" (status: an HTML
page, as a proxy in front would answer) and "hang" (seconds: wait, then answer normally).
Messages accepted are listed in ``state.extra["telegram_sent"]``. ``setWebhook`` (an HTTPS
URL on port 443, 80, 88 or 8443; a ``secret_token`` of A-Z a-z 0-9 _ -) is recorded in
``state.extra["telegram_webhook"]`` and shown by ``getWebhookInfo``.

Calling us (../shared/channels-inbound.md §3, §6): ``POST /telegram/_control/update``
{"url", "kind", "chat", optional "text", "payload", "update_id", "secret", "wrong_secret",
"no_secret"} POSTs one ``Update`` to our webhook as Telegram does, with
``X-Telegram-Bot-Api-Secret-Token`` (``WEBHOOK_SECRET`` unless "secret" says otherwise),
and answers {"status", "body", "elapsed", "update_id"}: what our endpoint answered and how
long it took. Kinds: "text" (a private message), "start" (``/start <payload>``), "kicked" and
"member" (``my_chat_member``: blocked, unblocked), "callback" (``callback_query``).
``update_id`` rises by one per update unless given (a duplicate repeats one).
"""

from __future__ import annotations

import html
import json
import math
import re
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from flask import Blueprint
from flask import jsonify
from flask import request

from tests.fakes.esms import on_loopback
from tests.fakes.failures import answer_queued
from tests.fakes.modes import throttle
from tests.fakes.state import FakeState

TOKEN = "123456:TEST-TOKEN"
WEBHOOK_SECRET = "tg-webhook-secret_0123456789"  # what we gave setWebhook as secret_token
BOT = {"id": 123456, "is_bot": True, "first_name": "Canh bao (fake)"}
FIRST_UPDATE = 834001000
LIMIT = 4096
TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"span", "tg-spoiler", "blockquote", "tg-emoji", "tg-time"}
)
ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
CHAT_ERRORS = {
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "kicked": (403, "Forbidden: bot was kicked from the group chat"),
    "not_member": (403, "Forbidden: bot is not a member of the channel chat"),
    "unknown": (400, "Bad Request: chat not found"),
}
DEFAULT_LIMITS = {"telegram:bot": 30.0, "telegram:chat": 1.0, "telegram:group_per_minute": 20.0}
# The "rate-limit" mode's option for each limit.
MODE_OPTIONS = {
    "telegram:bot": "per_second",
    "telegram:chat": "per_chat",
    "telegram:group_per_minute": "per_group_minute",
}


class ParseError(ValueError):
    """The text is not valid Telegram HTML; the message follows Telegram's wording."""


class _Markup(HTMLParser):
    """Check Telegram HTML and collect the text it shows."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=False)
        self.source = source
        self.lines = source.split("\n")
        self.stack: list[str] = []
        self.text: list[str] = []

    def fail(self, message: str):
        line, column = self.getpos()
        index = sum(len(text) + 1 for text in self.lines[: line - 1]) + column
        offset = len(self.source[:index].encode("utf-8"))
        raise ParseError(f"{message} at byte offset {offset}")

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.fail(f'Unsupported start tag "{tag}"')
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.fail('Tag "span" must have class "tg-spoiler"')
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack:
            self.fail(f'Unexpected end tag "{tag}"')
        if self.stack[-1] != tag:
            self.fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
        self.stack.pop()

    def handle_data(self, data):
        for ch in "<&":
            if ch in data:
                self.fail(f'Unexpected character "{ch}": escape it')
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in ENTITIES:
            self.fail(f'Unsupported HTML entity "&{name};"')
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.text.append(chr(code))
        except (ValueError, OverflowError):
            self.fail(f'Wrong character reference "&#{name};"')

    def handle_comment(self, data):
        self.fail('Unsupported start tag "!--"')

    def handle_decl(self, decl):
        self.fail(f'Unsupported start tag "!{decl.split()[0] if decl else ""}"')

    def handle_pi(self, data):
        self.fail('Unsupported start tag "?"')

    def unknown_decl(self, data):
        self.fail('Unsupported start tag "!"')


def parse_html(markup: str) -> str:
    """Return the text Telegram would show for HTML ``markup``; raise ParseError if invalid."""
    parser = _Markup(markup)
    parser.feed(markup)
    parser.close()
    if parser.stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    return "".join(parser.text)


def units(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _error(status: int, description: str, **parameters):
    body = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    response = jsonify(body)
    response.status_code = status
    if "retry_after" in parameters:
        response.headers["Retry-After"] = str(parameters["retry_after"])
    return response


def _too_many(seconds: float):
    after = max(1, math.ceil(seconds))
    return _error(429, f"Too Many Requests: retry after {after}", retry_after=after)


def _queued(failure: dict):
    """Answer a queued "429" or "error" failure."""
    if failure["kind"] == "429":
        return _too_many(float(failure.get("retry_after", failure.get("after", 5))))
    parameters = dict(failure.get("parameters") or {})
    if "retry_after" in failure:
        parameters["retry_after"] = int(failure["retry_after"])
    status = int(failure.get("status", 400))
    return _error(status, str(failure.get("description", "Bad Request")), **parameters)


def _limit(state: FakeState, key: str) -> float:
    """Return a flood limit: the "rate-limit" mode's option, else ``state.limits``, else
    Telegram's own."""
    default = float(state.limits.get(key, DEFAULT_LIMITS[key]))
    mode = state.mode("telegram")
    if mode is not None and mode.name == "rate-limit":
        return float(mode.options.get(MODE_OPTIONS[key], default))
    return default


def _flood(state: FakeState, chat: str) -> float | None:
    """Count this message in every window it falls in (the bot's second, the chat's second,
    a group's minute) and return the longest wait among those it is over, else None."""
    waits = [
        throttle(state, "telegram:bot", _limit(state, "telegram:bot")),
        throttle(state, f"telegram:chat:{chat}", _limit(state, "telegram:chat")),
    ]
    if chat.startswith(("-", "@")):
        limit = _limit(state, "telegram:group_per_minute")
        waits.append(throttle(state, f"telegram:group:{chat}", limit, per=60.0))
    found = [wait for wait in waits if wait is not None]
    return max(found) if found else None


def _chat_type(chat: str) -> str:
    if chat.startswith("@") or chat.startswith("-100"):
        return "channel"
    return "group" if chat.startswith("-") else "private"


def _check_text(params: dict):
    """Return an error response for the text, or the plain text shown."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        return _error(400, "Bad Request: message text is empty")
    mode = params.get("parse_mode")
    if mode in (None, ""):
        plain = text
    elif str(mode).lower() == "html":
        try:
            plain = parse_html(text)
        except ParseError as exc:
            return _error(400, f"Bad Request: can't parse entities: {exc}")
    elif mode in ("Markdown", "MarkdownV2"):
        plain = text  # not checked by this fake
    else:
        return _error(400, "Bad Request: unsupported parse_mode")
    plain = plain.strip()
    if not plain:
        return _error(400, "Bad Request: message text is empty")
    if units(plain) > LIMIT:
        return _error(400, "Bad Request: message is too long")
    return plain


def _accept(state: FakeState, chat: str, params: dict, plain: str):
    with state.lock:
        counters = state.extra.setdefault("telegram_message_ids", {})
        counters[chat] = message_id = counters.get(chat, 0) + 1
        state.extra.setdefault("telegram_sent", []).append(
            {"chat_id": chat, "message_id": message_id, "text": params["text"]}
        )
    chat_id = int(chat) if chat.lstrip("-").isdigit() else chat
    result = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": _chat_type(chat)},
        "text": plain,
    }
    return jsonify(ok=True, result=result)


def _set_webhook(state: FakeState, params: dict):
    """Record the webhook as Telegram checks it."""
    url = str(params.get("url") or "")
    if not url.startswith("https://"):
        return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if (urlsplit(url).port or 443) not in (443, 80, 88, 8443):
        ports = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        return _error(400, ports)
    secret = str(params.get("secret_token") or "")
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        return _error(400, "Bad Request: secret token contains unallowed characters")
    updates = params.get("allowed_updates")
    updates = json.loads(updates) if isinstance(updates, str) else updates
    hook = {**params, "allowed_updates": updates}
    with state.lock:
        state.extra["telegram_webhook"] = hook
    return jsonify(ok=True, result=True, description="Webhook was set")


def _next_update_id(state: FakeState) -> int:
    with state.lock:
        state.extra["telegram_update_id"] = state.extra.get("telegram_update_id", FIRST_UPDATE) + 1
        return state.extra["telegram_update_id"]


def make_update(update_id: int, kind: str, chat: int, text: str = "") -> dict:
    """One ``Update`` of a private chat, shaped as Telegram sends it (§3.3 to §3.6)."""
    person = {"id": chat, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    where = {"id": chat, "type": "private", "first_name": "Lan"}
    if kind in ("kicked", "member"):
        old = "member" if kind == "kicked" else "kicked"
        change = {"chat": where, "from": person, "date": int(time.time())}
        change["old_chat_member"] = {"status": old, "user": BOT}
        change["new_chat_member"] = {"status": kind, "until_date": 0, "user": BOT}
        return {"update_id": update_id, "my_chat_member": change}
    message = {"message_id": update_id % 100000, "date": int(time.time()), "from": person}
    message = {**message, "chat": where, "text": text}
    if text.startswith("/"):
        length = len(text.split(" ", 1)[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    if kind == "callback":
        query = {"id": uuid.uuid4().hex[:16], "from": person, "message": message}
        return {"update_id": update_id, "callback_query": {**query, "data": text}}
    return {"update_id": update_id, "message": message}


def send_update(url: str, update: dict, secret: str | None = WEBHOOK_SECRET) -> httpx.Response:
    """POST one update to our webhook as Telegram does: the JSON, and the secret token."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return httpx.post(url, content=json.dumps(update).encode(), headers=headers, timeout=10.0)


def _emit(state: FakeState, body: dict):
    """The control API's update: build it, send it, tell what our endpoint answered."""
    if not on_loopback(str(body.get("url", ""))):
        return jsonify(ok=False, error="the fakes call loopback addresses only"), 400
    update_id = int(body.get("update_id") or _next_update_id(state))
    text = str(body.get("text") or "")
    if body.get("kind") == "start":
        text = f"/start {body.get('payload', '')}"
    update = make_update(update_id, str(body.get("kind", "text")), int(body["chat"]), text)
    secret = str(body.get("secret") or WEBHOOK_SECRET)
    if body.get("wrong_secret"):
        secret = "not-the-secret-token"
    started = time.monotonic()
    answer = send_update(body["url"], update, None if body.get("no_secret") else secret)
    elapsed = time.monotonic() - started
    return jsonify(
        status=answer.status_code, body=answer.text, elapsed=elapsed, update_id=update_id
    )


def blueprint(state: FakeState) -> Blueprint:
    """Return the fake Bot API, mounted at /telegram (the base URL replacing the real host)."""
    bp = Blueprint("telegram", __name__)

    def refusal(token: str):
        """Answer a queued failure or a wrong token; None to go on."""
        answer = answer_queued(state, "telegram", _queued)
        if answer is not None:
            return answer
        if token != state.extra.get("telegram_token", TOKEN):
            return _error(401, "Unauthorized")
        return None

    @bp.route("/bot<token>/getMe", methods=["GET", "POST"])
    def get_me(token):
        if (answer := refusal(token)) is not None:
            return answer
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else 0
        result = {"id": bot_id, "is_bot": True, "first_name": "Canh bao (fake)"}
        return jsonify(ok=True, result={**result, "username": "canhbao_fake_bot"})

    @bp.post("/bot<token>/sendMessage")
    def send_message(token):
        if (answer := refusal(token)) is not None:
            return answer
        params = request.get_json(silent=True)
        if not isinstance(params, dict):
            params = request.form.to_dict()
        chat = str(params.get("chat_id") or "").strip()
        if not chat:
            return _error(400, "Bad Request: chat_id is empty")
        status = state.extra.get("telegram_chats", {}).get(chat)
        if status in CHAT_ERRORS:
            return _error(*CHAT_ERRORS[status])
        plain = _check_text(params)
        if not isinstance(plain, str):
            return plain
        wait = _flood(state, chat)
        if wait is not None:
            return _too_many(wait)
        return _accept(state, chat, params, plain)

    @bp.post("/bot<token>/setWebhook")
    def set_webhook(token):
        if (answer := refusal(token)) is not None:
            return answer
        return _set_webhook(state, request.get_json(silent=True) or request.form.to_dict())

    @bp.route("/bot<token>/getWebhookInfo", methods=["GET", "POST"])
    def get_webhook_info(token):
        if (answer := refusal(token)) is not None:
            return answer
        hook = state.extra.get("telegram_webhook") or {}
        info = {"url": hook.get("url", ""), "has_custom_certificate": False}
        info.update(pending_update_count=0, allowed_updates=hook.get("allowed_updates") or [])
        return jsonify(ok=True, result=info)

    @bp.post("/_control/update")
    def emit_update():
        return _emit(state, dict(request.get_json() or {}))

    @bp.route("/bot<token>/<method>", methods=["GET", "POST"])
    def other_method(token, method):
        return _error(404, "Not Found")

    return bp
