"""What several renderers share: the Jinja2 environment for channel templates, times in
Vietnam time, the Vietnamese words for CAP values, and the marks for updates, cancels and
drills that every channel must carry."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import Template
from jinja2 import select_autoescape

from alerts.config import TEMPLATES_DIR
from alerts.render import Message

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNEL_TEMPLATES = TEMPLATES_DIR / "channels"
SEVERITY_VI = {
    "Extreme": "Đặc biệt nghiêm trọng",
    "Severe": "Nghiêm trọng",
    "Moderate": "Trung bình",
    "Minor": "Nhẹ",
}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MODE_BANNER_VI = {"Exercise": "DIỄN TẬP", "Test": "THỬ NGHIỆM"}
MODE_BANNER_EN = {"Exercise": "EXERCISE", "Test": "TEST"}
MSG_PREFIX_VI = {"Update": "CẬP NHẬT", "Cancel": "HỦY CẢNH BÁO"}
MSG_PREFIX_EN = {"Update": "UPDATE", "Cancel": "CANCELLED"}
# The heading of a refutation in every channel (SMS folds it to "DINH CHINH").
REFUTATION_VI = "ĐÍNH CHÍNH"
REFUTATION_EN = "CORRECTION"
# The names of the warning types (CAP event: Google wants fewer than 35 characters).
EVENT_VI = {
    "scam_phone": "Lừa đảo qua điện thoại",
    "scam_online": "Lừa đảo trực tuyến",
    "fake_link": "Đường link giả mạo",
    "theft": "Trộm cắp",
    "drugs": "Ma túy",
    "missing_person": "Tìm người mất tích",
    "wanted_person": "Truy nã",
    "traffic": "Giao thông",
    "fake_news": "Đính chính thông tin sai sự thật",
    "other": "Cảnh báo an ninh trật tự",
}
EVENT_EN = {
    "scam_phone": "Phone scam",
    "scam_online": "Online scam",
    "fake_link": "Fake official link",
    "theft": "Theft",
    "drugs": "Drugs",
    "missing_person": "Missing person",
    "wanted_person": "Wanted person",
    "traffic": "Traffic",
    "fake_news": "Correction of false information",
    "other": "Public order warning",
}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# XML 1.0 cannot carry C0 controls other than tab and newline, lone surrogates, U+FFFE and
# U+FFFF; C1 controls and DEL are allowed but discouraged, and mean nothing in a warning.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@cache
def environment() -> Environment:
    """The Jinja2 environment for channel templates: autoescape for .html and .xml files,
    none for .txt and .json (each renderer escapes for its own format), undefined names
    fail loudly."""
    env = Environment(
        loader=FileSystemLoader(str(CHANNEL_TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    # tojson keeps Vietnamese readable (not \u-escaped); it still escapes < > & ' for HTML.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


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


def english_time(moment: datetime) -> str:
    """Return "1 Dec 2026, 08:30" in Vietnam time: with the month's name, since 01/12 reads
    as January to many English readers."""
    local = local_time(moment)
    return f"{local.day} {MONTHS_EN[local.month - 1]} {local.year}, {local:%H:%M}"


def title_prefix(message: Message, english: bool = False) -> str:
    """Return the marks that must precede a title: "[DIỄN TẬP] CẬP NHẬT: ĐÍNH CHÍNH: " and
    the like (a refutation is headed "ĐÍNH CHÍNH" wherever its title appears)."""
    banners = MODE_BANNER_EN if english else MODE_BANNER_VI
    prefixes = MSG_PREFIX_EN if english else MSG_PREFIX_VI
    marks = ""
    if message.content.mode in banners:
        marks += f"[{banners[message.content.mode]}] "
    if message.msg_type in prefixes:
        marks += f"{prefixes[message.msg_type]}: "
    if message.content.is_refutation:
        marks += f"{REFUTATION_EN if english else REFUTATION_VI}: "
    return marks


def area_summary(message: Message, limit: int = 3) -> str:
    """Return the targeted regions by name, or their count past ``limit``."""
    names = [r.name for r in message.regions]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} và {len(names) - limit} địa bàn khác"


def shorten(text: str, limit: int, ellipsis: str = "...") -> str:
    """Return text in at most ``limit`` characters, cut between words and ended by ``ellipsis``."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return ""
    cut = text[: limit - len(ellipsis) + 1]
    head, space, _tail = cut.rpartition(" ")
    cut = head if space and len(head) > limit // 2 else cut[:-1]
    return cut.rstrip(" \n,.;:-–—") + ellipsis


def event_name(warning_type: str, english: bool = False) -> str:
    """Return the name of a warning type as the page, the feeds and CAP ``event`` show it."""
    return (EVENT_EN if english else EVENT_VI)[warning_type]


def defang(link: str) -> str:
    """Return a link people can read but no program turns back into a link.

    The scheme is dropped and every dot of the host becomes "[.]":
    "http://vneid-capnhat.com/login" -> "vneid-capnhat[.]com/login".
    """
    bare = _SCHEME.sub("", link)
    host, rest = re.match(r"([^/?#]*)(.*)", bare, re.DOTALL).groups()
    return host.replace(".", "[.]") + rest


def xml_text(value: str) -> str:
    """Return text XML 1.0 can carry; line ends become "\\n", which parsers keep as is."""
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def xml_values(value):
    """Return template values with every string made XML-safe, however deeply nested."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, dict):
        return {k: xml_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xml_values(v) for v in value]
    return value


def parse_checked(xml: str, root_tag: str) -> ET.Element:
    """Parse our own output as a consumer would; raise ValueError if it is not sound XML.

    No DTD may appear (it could declare entities), and the root must be the expected one.
    """
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        raise ValueError("rendered XML contains a DTD")
    try:
        root = ET.fromstring(xml.encode("utf-8"))
    except ET.ParseError as error:
        raise ValueError(f"rendered XML is not well-formed: {error}") from error
    if root.tag != root_tag:
        raise ValueError(f"rendered XML has root {root.tag}, expected {root_tag}")
    return root
