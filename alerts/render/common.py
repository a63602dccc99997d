"""What several renderers share: the Jinja2 environment for channel templates, times in
Vietnam time, the Vietnamese words for CAP values, and the marks for updates, cancels and
drills that every channel must carry."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import Template
from jinja2 import select_autoescape

from alerts.config import PROJECT_ROOT
from alerts.render import Message

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNEL_TEMPLATES = PROJECT_ROOT / "templates" / "channels"
SEVERITY_VI = {
    "Extreme": "Đặc biệt nghiêm trọng",
    "Severe": "Nghiêm trọng",
    "Moderate": "Trung bình",
    "Minor": "Nhẹ",
}
MODE_BANNER_VI = {"Exercise": "DIỄN TẬP", "Test": "THỬ NGHIỆM"}
MODE_BANNER_EN = {"Exercise": "EXERCISE", "Test": "TEST"}
MSG_PREFIX_VI = {"Update": "CẬP NHẬT", "Cancel": "HỦY CẢNH BÁO"}
MSG_PREFIX_EN = {"Update": "UPDATE", "Cancel": "CANCELLED"}


@cache
def environment() -> Environment:
    """The Jinja2 environment for channel templates: autoescape for .html and .xml files,
    none for .txt (each renderer escapes for its own format), undefined names fail loudly."""
    return Environment(
        loader=FileSystemLoader(str(CHANNEL_TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def template(name: str) -> Template:
    """Return a channel template by file name (e.g. "sms.txt")."""
    return environment().get_template(name)


def local_time(moment: datetime) -> datetime:
    """Return a moment in Vietnam time (an aware datetime with +07:00)."""
    return moment.astimezone(VIETNAM)


def iso_vietnam(moment: datetime) -> str:
    """Return ISO 8601 with the explicit +07:00 offset CAP requires ("Z" is not allowed)."""
    return local_time(moment).isoformat(timespec="seconds")


def short_time(moment: datetime) -> str:
    """Return "08:30 01/12/2026" in Vietnam time, as residents read it."""
    return local_time(moment).strftime("%H:%M %d/%m/%Y")


def title_prefix(message: Message, english: bool = False) -> str:
    """Return the marks that must precede a title: "[DIỄN TẬP] CẬP NHẬT: " and the like."""
    banners = MODE_BANNER_EN if english else MODE_BANNER_VI
    prefixes = MSG_PREFIX_EN if english else MSG_PREFIX_VI
    marks = ""
    if message.content.mode in banners:
        marks += f"[{banners[message.content.mode]}] "
    if message.msg_type in prefixes:
        marks += f"{prefixes[message.msg_type]}: "
    return marks


def area_summary(message: Message, limit: int = 3) -> str:
    """Return the targeted regions by name, or their count past ``limit``."""
    names = [r.name for r in message.regions]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} và {len(names) - limit} địa bàn khác"
