"""The notices a subscription request sends: a confirmation code or link, or a "manage your
subscriptions" link, in Vietnamese and in each channel's form.

Kept apart from the flows (``alerts.residents.subscriptions``) because it is wording and formatting:
which account speaks for the resident's area, what the SMS, Zalo, Telegram and email texts
say, and queueing the notice for the delivery engine (``notices``) to send.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlite_utils
from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined

from alerts.clock import to_text
from alerts.config import TEMPLATES_DIR
from alerts.regions.jurisdiction import unit_code
from alerts.render import gsm
from alerts.store import accounts as account_store
from alerts.store import notices as notice_store
from alerts.store import units as unit_store

_TEMPLATES = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR / "subscribe"),
    autoescape=True,
    undefined=StrictUndefined,
)


def notice_account(db: sqlite_utils.Database, channel: str, region_code: str) -> int | None:
    """Return the live account that speaks for the region's unit (nearest up), or None."""
    chain, unit = [], unit_store.get_unit_by_code(db, unit_code(region_code))
    while unit is not None:
        chain.append(unit.id)
        unit = unit_store.get_unit(db, unit.parent_id) if unit.parent_id else None
    order = {unit_id: i for i, unit_id in enumerate(chain)}
    for account in sorted(
        account_store.accounts_of_units(db, chain), key=lambda a: order[a.unit_id]
    ):
        if account.channel == channel and account.active and not account.test_audience:
            return account.id
    return None


def notice_texts(
    kind: str, channel: str, secret: str, url: str, places: str
) -> tuple[str, str, str]:
    """Return (subject, text, html) of a notice in the channel's form (SMS: GSM-7)."""
    if channel == "email":
        words = _email_words(kind, places)
        plain = f"{words['lead']}\n\n{words['action']}\n{url}\n\n{words['ignore']}"
        html = _TEMPLATES.get_template("notice_email.html").render(url=url, **words).strip()
        return words["subject"], plain, html
    if kind == "confirm":
        text = (
            f"Mã xác nhận đăng ký nhận cảnh báo của Công an: {secret}. Mã có hiệu lực 24 giờ."
            " Không đưa mã này cho ai. Không yêu cầu? Hãy bỏ qua tin này."
        )
    else:
        text = f"Xem, hủy đăng ký cảnh báo của Công an: {url} Bỏ qua nếu không yêu cầu."
    if channel == "sms":
        return "", gsm.to_gsm7(text, extension=False), ""
    if channel == "telegram":
        return "", text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), ""
    return "", text, ""


def _email_words(kind: str, places: str) -> dict[str, str]:
    """Return the subject and sentences of an email notice."""
    if kind == "confirm":
        words = {
            "subject": "Xác nhận đăng ký nhận cảnh báo của Công an",
            "lead": f"Địa chỉ này vừa được đăng ký nhận cảnh báo tội phạm, lừa đảo tại: {places}.",
            "action": "Để xác nhận, mở liên kết sau trong vòng 24 giờ:",
            "button": "Xác nhận đăng ký",
        }
    else:
        words = {
            "subject": "Quản lý đăng ký nhận cảnh báo của Công an",
            "lead": "Bạn vừa yêu cầu xem các đăng ký nhận cảnh báo của địa chỉ này.",
            "action": "Xem và hủy từng đăng ký tại:",
            "button": "Quản lý đăng ký",
        }
    return {**words, "ignore": "Nếu bạn không yêu cầu, hãy bỏ qua thư này: không có gì thay đổi."}


def queue_notice(
    db: sqlite_utils.Database,
    kind: str,
    channel: str,
    account_id: int,
    address: str,
    texts: tuple[str, str, str],
    now: datetime,
    expires: datetime,
    *,
    key: str | None = None,
) -> int:
    """Queue a notice's (subject, text, html) for the engine to send; return its id. A
    fixed ``key`` makes it once-only (the outbox refuses a second notice with that key)."""
    subject, text, html = texts
    return notice_store.insert(
        db,
        kind=kind,
        channel=channel,
        account_id=account_id,
        target=address,
        subject=subject,
        text=text,
        html=html,
        idempotency_key=key or f"n-{kind}-{secrets.token_hex(10)}",
        now=to_text(now),
        expires_at=to_text(expires),
    )
