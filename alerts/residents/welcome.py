"""The welcome a resident gets once a subscription is confirmed: what they now receive,
the warnings already in force there, and how to stop.

A resident who subscribes after a warning went out would otherwise miss it until the next
one, so the welcome lists the live warnings covering the chosen places (their own, their
province's, the nation's: title, verification code and short link). It is built here for
every channel and for both confirmations, the portal's (``subscriptions.confirm``) and the
in-app ones (the Telegram bot's ``/start``): ``welcome`` builds the texts, ``queue_welcome``
queues them as a "welcome" notice. Vietnamese unless the resident chose English; SMS in
GSM-7 without diacritics, and kept to a few warnings (each segment is paid for).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from html import escape

import sqlite_utils
from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined

from alerts.clock import to_text
from alerts.config import TEMPLATES_DIR
from alerts.models import Region
from alerts.render import gsm
from alerts.residents.addresses import chosen_regions
from alerts.residents.notices import notice_account
from alerts.residents.notices import queue_notice
from alerts.residents.portal import lineage
from alerts.store import portal as portal_store
from alerts.warnings import codes as verification

WELCOME_TTL = timedelta(hours=24)  # a welcome that could not go out within this is dropped
MAX_LISTED = {"sms": 3}  # warnings named in the welcome; the others: MAX_LISTED_DEFAULT
MAX_LISTED_DEFAULT = 10
IN_FORCE_LIMIT = 50  # warnings looked at (the portal's list limit)
STOP = {
    "vi": {
        "sms": "Soạn HUY gửi lại số này để ngừng nhận.",
        "telegram": "Gửi /stop để ngừng nhận.",
        "other": "Mỗi tin đều có cách ngừng nhận.",
        "link": "Xem hoặc ngừng nhận: {url}",
    },
    "en": {
        "sms": "Reply HUY to this number to stop.",
        "telegram": "Send /stop to stop.",
        "other": "Every message says how to stop.",
        "link": "See or stop them: {url}",
    },
}
WORDS = {
    "vi": {
        "subject": "Đã đăng ký nhận cảnh báo của Công an",
        "lead": "Đã đăng ký nhận cảnh báo tội phạm, lừa đảo của Công an cho: {places}.",
        "listed": "Cảnh báo đang có hiệu lực:",
        "code": "mã",
        "more": "Và {count} cảnh báo khác: {url}",
        "none": "Hiện chưa có cảnh báo nào đang có hiệu lực ở đây.",
    },
    "en": {
        "subject": "You now receive the police's warnings",
        "lead": "You now receive the police's crime and scam warnings for: {places}.",
        "listed": "Warnings in force:",
        "code": "code",
        "more": "And {count} more: {url}",
        "none": "No warning is in force there right now.",
    },
}
_TEMPLATES = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR / "subscribe"),
    autoescape=True,
    undefined=StrictUndefined,
)


def in_force(db: sqlite_utils.Database, regions: list[Region], now: datetime) -> list:
    """Return the live warnings in force covering any of the regions, newest first."""
    codes = list(dict.fromkeys(r.code for region in regions for r in lineage(db, region)))
    return portal_store.active_covering(db, codes, to_text(now), IN_FORCE_LIMIT)


def welcome(
    db: sqlite_utils.Database,
    regions: Iterable[str],
    lang: str,
    channel: str,
    now: datetime,
    *,
    public_url: str,
    stop_url: str | None = None,
) -> tuple[str, str, str]:
    """Return the welcome's (subject, text, html) in the channel's form: html for email
    only, Telegram's text escaped for its HTML mode, SMS in GSM-7. ``stop_url`` (the
    address's manage page) replaces the channel's own way to stop when given. Refused
    for places ``chosen_regions`` refuses."""
    context = _context(db, regions, lang, channel, now, public_url)
    stop = STOP.get(lang, STOP["vi"])
    context["stop"] = (
        stop["link"].format(url=stop_url) if stop_url else stop.get(channel, stop["other"])
    )
    text = "\n".join([context["lead"], "", _listing(context), "", context["stop"]])
    if channel == "email":
        page = _TEMPLATES.get_template("welcome_email.html")
        subject = WORDS.get(lang, WORDS["vi"])["subject"]
        html = page.render(subject=subject, lang=lang, **context).strip()
        return subject, text, html
    if channel == "sms":
        return "", gsm.to_gsm7(text, extension=False), ""
    if channel == "telegram":
        return "", escape(text, quote=False), ""  # the bot speaks Telegram's HTML mode
    return "", text, ""


def listing(
    db: sqlite_utils.Database,
    regions: Iterable[str],
    lang: str,
    channel: str,
    now: datetime,
    *,
    public_url: str,
) -> str:
    """Return only the warnings in force there (or that there is none), as plain text: the
    bots answer a subscription in their own words and add this."""
    return _listing(_context(db, regions, lang, channel, now, public_url))


def _context(db, regions: Iterable[str], lang: str, channel: str, now: datetime, public_url: str):
    found = chosen_regions(db, regions)
    words = WORDS.get(lang, WORDS["vi"])
    base = public_url.rstrip("/")
    warnings = in_force(db, found, now)
    items = [_item(a, base) for a in warnings[: MAX_LISTED.get(channel, MAX_LISTED_DEFAULT)]]
    hidden = len(warnings) - len(items)
    more = words["more"].format(count=hidden, url=f"{base}/r/{found[0].code}")
    return {
        "lead": words["lead"].format(places=", ".join(r.name for r in found)),
        "listed": words["listed"] if items else words["none"],
        "items": items,
        "more": more if hidden else "",
        "code_word": words["code"],
    }


def _item(alert, base: str) -> dict[str, str]:
    """Return a warning as the welcome names it: its title, code and short link."""
    code = alert.code
    return {
        "title": alert.content.headline,
        "code": verification.display(code),
        "url": f"{base}/a/{code}",
    }


def _listing(context: Mapping) -> str:
    """Return the warnings in force as plain text, one a line."""
    word = context["code_word"]
    lines = [context["listed"]]
    lines += [f"- {i['title']} ({word} {i['code']}): {i['url']}" for i in context["items"]]
    if context["more"]:
        lines.append(context["more"])
    return "\n".join(lines)


def queue_welcome(
    db: sqlite_utils.Database,
    config: Mapping,
    *,
    channel: str,
    address: str,
    regions: Iterable[str],
    lang: str,
    now: datetime,
    account_id: int | None = None,
    stop_url: str | None = None,
) -> int | None:
    """Queue the welcome to a confirmed address (inside the caller's write) on the account
    that speaks for its first place, or on ``account_id`` (the bot that was written to);
    return the notice's id, or None when no account of the channel reaches it."""
    regions = list(regions)
    account_id = account_id or notice_account(db, channel, regions[0])
    if account_id is None:
        return None
    texts = welcome(
        db, regions, lang, channel, now, public_url=config["PUBLIC_URL"], stop_url=stop_url
    )
    return queue_notice(db, "welcome", channel, account_id, address, texts, now, now + WELCOME_TTL)
