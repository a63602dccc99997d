"""The CAP 1.2 document of a warning: the public feed's payload and what aggregators ingest.

The document must pass both the OASIS CAP 1.2 schema and Google Public Alerts' extra rules
(event under 35 characters, each areaDesc under 50, expires, description and area present,
never "Unknown"), so anything that could break a rule is shortened here, with a note for
the approver. Text is escaped by the template's XML autoescape and stripped of characters
XML 1.0 cannot carry; the result is parsed before it is returned, so a broken template can
never publish.
"""

from __future__ import annotations

import re

from alerts.errors import N_
from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.common import defang
from alerts.render.common import event_name
from alerts.render.common import iso_vietnam
from alerts.render.common import parse_checked
from alerts.render.common import shorten
from alerts.render.common import template
from alerts.render.common import title_prefix
from alerts.render.common import xml_values

CHANNEL = "cap"
MEDIA_TYPE = "application/cap+xml"
NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
GEOCODE_NAME = "VN-ADMIN-2025"
MAP_VERSION_NAME = "VN-ADMIN-2025-VERSION"
# Google Public Alerts: event "less than 35 characters", areaDesc "less than 50".
EVENT_LIMIT = 35
AREA_LIMIT = 50
# What residents should do: stay away from scams, suspects and incidents; watch for the rest.
AVOID = frozenset({"scam_phone", "scam_online", "fake_link", "wanted_person", "traffic"})
MODE_NOTE = {
    "Exercise": "DIỄN TẬP / EXERCISE: không phải cảnh báo thật / not a real warning.",
    "Test": "THỬ NGHIỆM / TEST: không phải cảnh báo thật / not a real warning.",
}
# (Vietnamese, English) labels of the indicators listed in the description.
INDICATOR_LABELS = {
    "title": ("Dấu hiệu nhận biết:", "Scam indicators:"),
    "phones": ("Số điện thoại", "Phone numbers"),
    "accounts": ("Tài khoản", "Bank accounts"),
    "links": ("Đường link (không truy cập)", "Links (do not open)"),
}
# (Vietnamese, English) labels of a refutation's quoted claim and of its facts.
CLAIM_LABELS = {
    "claim": ("Thông tin sai sự thật đang lan truyền:", "False claim going around:"),
    "links": ("Đường link của tin giả (không truy cập)", "Links it spreads (do not open)"),
    "facts": ("Sự thật:", "The facts:"),
}
# CAP: identifier and sender must not contain spaces, commas or restricted characters.
_NOT_IN_ID = re.compile(r"[\s,<&]")


def _references(message: Message) -> str:
    """Return CAP references: whitespace-separated "sender,identifier,sent" triples."""
    return " ".join(f"{r.sender},{r.identifier},{iso_vietnam(r.sent)}" for r in message.references)


def _note(message: Message) -> str:
    """Return the alert note: the drill mark and, for a Cancel, the reason."""
    parts = []
    if message.content.mode in MODE_NOTE:
        parts.append(MODE_NOTE[message.content.mode])
    if message.msg_type == "Cancel":
        parts.append("Hủy cảnh báo / Cancelled.")
        if message.cancel_reason:
            parts.append(f"Lý do / Reason: {message.cancel_reason}")
    return " ".join(parts)


def _indicator_lines(message: Message, english: bool) -> list[str]:
    """Return the scam indicators as text lines, links defanged so nobody opens them."""
    found = message.content.indicators
    kinds = (
        (INDICATOR_LABELS["phones"], found.phones),
        (INDICATOR_LABELS["accounts"], found.accounts),
        (INDICATOR_LABELS["links"], tuple(defang(link) for link in found.links)),
    )
    lines = [f"- {label[english]}: {', '.join(values)}" for label, values in kinds if values]
    return [INDICATOR_LABELS["title"][english], *lines] if lines else []


def _claim_lines(message: Message, english: bool) -> list[str]:
    """Return a refutation's quoted claim, its links defanged, and the facts' label."""
    found = message.content.refutation
    if found is None:
        return []
    lines = [CLAIM_LABELS["claim"][english], f"«{found.claim}»"]
    if found.links:
        links = ", ".join(defang(link) for link in found.links)
        lines.append(f"- {CLAIM_LABELS['links'][english]}: {links}")
    return ["\n".join(lines), CLAIM_LABELS["facts"][english]]


def _description(message: Message, english: bool) -> str:
    """Return the description: cancel reason, a refutation's claim, text, indicators and the
    verification line."""
    content = message.content
    parts = []
    if message.msg_type == "Cancel":
        reason = message.cancel_reason
        parts.append(
            f"This warning has been cancelled. Reason: {reason}"
            if english
            else f"Cảnh báo này đã bị hủy. Lý do: {reason}"
        )
    parts.extend(_claim_lines(message, english))
    parts.append(content.description_en if english else content.description)
    parts.append("\n".join(_indicator_lines(message, english)))
    check = (
        "Verification code: %s — check at %s" if english else "Mã xác thực: %s — kiểm tra tại %s"
    )
    parts.append(check % (message.display_code, message.url))
    return "\n\n".join(p for p in parts if p)


def _response_type(message: Message) -> str:
    """Return the CAP responseType: AllClear once cancelled, else Avoid or Monitor."""
    if message.msg_type == "Cancel":
        return "AllClear"
    return "Avoid" if message.content.warning_type in AVOID else "Monitor"


def _info(message: Message, english: bool, event: str) -> dict:
    """Return the values of one ``info`` block, in Vietnamese or English."""
    content = message.content
    return {
        "language": "en-US" if english else "vi-VN",
        "category": content.category,
        "event": event,
        "response_type": _response_type(message),
        "urgency": content.urgency,
        "severity": content.severity,
        "certainty": content.certainty,
        "expires": iso_vietnam(message.expires),
        "sender_name": message.issuer_name,
        "headline": title_prefix(message, english)
        + (content.headline_en if english else content.headline),
        "description": _description(message, english),
        "instruction": content.instruction_en if english else content.instruction,
        "web": message.url,
    }


def _areas(message: Message, notes: list) -> list[dict]:
    """Return one area per target region, its name shortened for Google if ever needed."""
    areas = []
    for region in message.regions:
        desc = shorten(region.name, AREA_LIMIT - 1, "…")
        if desc != region.name:
            notes.append(
                (
                    N_("CAP area name shortened to under %(limit)s characters: %(name)s"),
                    {"limit": AREA_LIMIT, "name": region.name},
                )
            )
        areas.append({"desc": desc, "code": region.code})
    return areas


def _event(message: Message, english: bool, notes: list) -> str:
    """Return the CAP event, shortened (with a note) should a name ever outgrow the limit."""
    name = event_name(message.content.warning_type, english)
    event = shorten(name, EVENT_LIMIT - 1, "…")
    if event != name:
        notes.append(
            (
                N_("CAP event name shortened to under %(limit)s characters: %(name)s"),
                {"limit": EVENT_LIMIT, "name": name},
            )
        )
    return event


def _check_ids(message: Message) -> None:
    """Refuse identifiers that would make ``references`` ambiguous (a bug, not input)."""
    ids = [message.identifier, message.sender]
    ids += [v for r in message.references for v in (r.identifier, r.sender)]
    for value in ids:
        if not value or _NOT_IN_ID.search(value):
            raise ValueError(f"not a CAP identifier or sender: {value!r}")


def context(message: Message, notes: list) -> dict:
    """Return everything the template places, every string already XML-safe."""
    _check_ids(message)
    languages = [False, True] if message.content.headline_en else [False]
    return xml_values(
        {
            "identifier": message.identifier,
            "sender": message.sender,
            "sent": iso_vietnam(message.sent),
            "status": message.content.mode,
            "msg_type": message.msg_type,
            "note": _note(message),
            "references": _references(message),
            "infos": [_info(message, en, _event(message, en, notes)) for en in languages],
            "parameters": [{"name": MAP_VERSION_NAME, "value": message.map_version}]
            if message.map_version
            else [],
            "geocode_name": GEOCODE_NAME,
            "areas": _areas(message, notes),
        }
    )


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the CAP 1.2 document; raise ValueError if the result is not sound XML.

    With ``settings.sign_cap`` the document is returned signed, exactly as signed.
    """
    notes: list = []
    values = context(message, notes)
    xml = template("cap.xml").render(**values)
    parse_checked(xml, f"{{{NAMESPACE}}}alert")
    if settings.sign_cap:
        xml = settings.sign_cap(xml)
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"xml": xml},
        counts={
            "bytes": len(xml.encode("utf-8")),
            "characters": len(xml),
            "areas": len(values["areas"]),
            "languages": len(values["infos"]),
        },
        notes=tuple(notes),
    )
