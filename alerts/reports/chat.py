"""Reporting a scam by chat (issue 16): ``/baotin`` to the Telegram bot, "BAO TIN ..." to
the Zalo OA, answered with the report's reference at once.

One message is enough ("BAO TIN so 0912 345 678 goi tu xung cong an ..."); "BAO TIN" alone
is answered with a question, and the next message is the story. The commune is the one the
resident subscribed to in this chat when there is exactly one, else it is asked (a name or
a code, as when subscribing). The scammer's phone numbers and links are read from the text
and normalised by ``file_report``; the kind is a first reading (a call, a link, else a
message) that the unit corrects when it reviews the report.

Where the conversation stands is kept by ``alerts.residents.chat_state``; filing ends it.
Everything else a resident writes is the subscription conversation's
(``alerts.residents.chat``), which also stops: a stop word is never taken as a report.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlite_utils

from alerts.errors import Invalid
from alerts.reports.filing import file_report
from alerts.residents import chat_state
from alerts.residents import chat_words
from alerts.residents.chat_replies import Chat
from alerts.residents.chat_replies import say
from alerts.residents.chat_replies import say_candidates
from alerts.residents.limits import TooMany
from alerts.residents.places import communes_named
from alerts.residents.verify_parse import mentioned
from alerts.store import subscriptions as subscription_store
from alerts.text import fold
from alerts.warnings.indicators import MAX_LENGTH
from alerts.warnings.indicators import MAX_PER_KIND

COMMANDS = ("/baotin", "bao tin", "baotin")
ASK_TEXT = (
    "Hãy kể ngắn gọn điều đã xảy ra trong một tin nhắn: kẻ gian liên lạc thế nào, nói gì,"
    " số điện thoại hoặc đường link họ dùng. Không gửi mật khẩu hay mã OTP của bạn."
)
ASK_COMMUNE = "Bạn ở xã, phường nào? Hãy gửi tên hoặc mã xã, phường (ví dụ: Hoàn Kiếm, 00070)."
CAPPED = "Hôm nay bạn đã gửi nhiều tin báo. Hãy thử lại ngày mai, hoặc gọi 113 nếu khẩn cấp."
UNREADABLE = "Chưa nhận được tin báo: nội dung quá dài hoặc không đọc được. Hãy gửi lại ngắn hơn."
COMMUNE_CODE = 5  # digits of a commune's code (a province's has 2)
_CALL_WORDS = ("goi dien", "cuoc goi", "goi toi", "goi cho", "nghe may", "call")


def answer(db: sqlite_utils.Database, config: Mapping, chat: Chat, text: str) -> str | None:
    """Act on a message that starts or goes on with a report; None for any other message
    (the subscription conversation's to answer)."""
    if chat_words.is_stop(text):
        return None
    words = chat_words.words(text)
    for command in COMMANDS:
        if words == command or words.startswith(command + " "):
            return _begin(db, config, chat, chat_words.after(text, len(command.split())))
    step = chat_state.current(db, config, chat)
    return _go_on(db, config, chat, step, text) if step is not None else None


def _begin(db, config: Mapping, chat: Chat, text: str) -> str:
    """``/baotin [story]``: file at once when the story and the commune are known."""
    if not text.strip():
        chat_state.keep(db, config, chat, {"step": "text"})
        say(db, config, chat, ASK_TEXT)
        return "report: asked what happened"
    return _told(db, config, chat, text.strip())


def _go_on(db, config: Mapping, chat: Chat, step: dict, text: str) -> str:
    """The next message of a report conversation: the story, or the commune."""
    if step.get("step") == "text":
        return _told(db, config, chat, text.strip())
    found = communes_named(db, text)
    if len(found) == 1:
        return _file(db, config, chat, str(step.get("text", "")), found[0].code)
    if found:
        say_candidates(db, config, chat, found)
        return "report: commune candidates"
    say(db, config, chat, ASK_COMMUNE)
    return "report: commune not found"


def _told(db, config: Mapping, chat: Chat, text: str) -> str:
    if not text:
        say(db, config, chat, ASK_TEXT)
        return "report: asked what happened"
    region = _known_commune(db, chat)
    if region is not None:
        return _file(db, config, chat, text, region)
    chat_state.keep(db, config, chat, {"step": "commune", "text": text})
    say(db, config, chat, ASK_COMMUNE)
    return "report: asked the commune"


def _known_commune(db, chat: Chat) -> str | None:
    """The commune this chat subscribed to, when it is exactly one."""
    codes = {
        s.region_code
        for s in subscription_store.of_address(db, chat.channel, chat.address)
        if s.status == "active"
    }
    communes = [code for code in codes if len(code) == COMMUNE_CODE]
    return communes[0] if len(communes) == 1 else None


def _file(db, config: Mapping, chat: Chat, text: str, region_code: str) -> str:
    """File the report with the commune's police; answer the reference."""
    chat_state.forget(db, config, chat)
    try:
        filed = file_report(
            db,
            config,
            channel=chat.channel,
            kind=_kind(text),
            region_code=region_code,
            text=text,
            indicators=_indicators(text),
            contact=chat.address,
            account_id=chat.account_id,
            now=chat.now,
        )
    except TooMany:
        say(db, config, chat, CAPPED)
        return "report: capped"
    except Invalid:
        say(db, config, chat, UNREADABLE)
        return "report: refused"
    say(
        db,
        config,
        chat,
        f"Đã nhận tin báo của bạn. Mã tin báo: {filed.code}. Tin đã chuyển đến"
        f" {filed.unit_name}. Hãy giữ mã này để theo dõi hoặc rút lại tin báo."
        " Nếu khẩn cấp, gọi 113.",
    )
    return f"report: filed {filed.code}"


def _kind(text: str) -> str:
    """A first reading of what happened: a call, a fake site, else a scam message."""
    folded = fold(text)
    if any(word in folded for word in _CALL_WORDS):
        return "scam_call"
    found = {kind for kind, _raw, _value in mentioned(text)}
    return "fake_site" if "link" in found and "phone" not in found else "scam_message"


def _indicators(text: str) -> dict[str, list[str]]:
    """The phone numbers and links in the story, for ``file_report`` to normalise."""
    given: dict[str, list[str]] = {"phones": [], "links": []}
    for kind, _raw, value in mentioned(text):
        field = {"phone": "phones", "link": "links"}.get(kind)
        if field and len(value) <= MAX_LENGTH and value not in given[field]:
            given[field].append(value)
    return {field: values[:MAX_PER_KIND] for field, values in given.items()}
