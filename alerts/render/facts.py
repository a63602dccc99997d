"""What every channel says about a warning, in the words and formats residents read.

The portal page, Telegram, Zalo, Facebook and email all show the same banner wording,
phone format ("0912 345 678"), defanged scam links and labels; building them once here
keeps the channels consistent. Values are plain text: each renderer escapes for its format.
"""

from __future__ import annotations

import re

import phonenumbers

from alerts.render import Message
from alerts.render.common import MODE_BANNER_EN
from alerts.render.common import MODE_BANNER_VI
from alerts.render.common import MSG_PREFIX_VI
from alerts.render.common import SEVERITY_VI
from alerts.render.common import defang
from alerts.render.common import english_time
from alerts.render.common import event_name
from alerts.render.common import iso_vietnam
from alerts.render.common import short_time
from alerts.render.common import shorten
from alerts.render.common import title_prefix


def _phone(e164: str) -> str:
    """Return a phone as residents see it on their screen: "0912 345 678" for Vietnam."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 84
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def _official(link: str) -> str:
    """Return the official link if it is a web address (content checks its domain), else ""."""
    return link if link.lower().startswith(("https://", "http://")) else ""


def paragraphs(text: str) -> list[list[str]]:
    """Return text as paragraphs of lines, so the template keeps the officer's line breaks."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return [block.split("\n") for block in blocks if block.strip()]


def _banner(message: Message) -> dict | None:
    """Return the drill banner's words, or None for a live warning."""
    mode = message.content.mode
    if mode not in MODE_BANNER_VI:
        return None
    word = MODE_BANNER_VI[mode]
    return {
        "vi": f"{word}: đây là tin {word.lower()}, không phải cảnh báo thật.",
        "en": f"{MODE_BANNER_EN[mode]}: a drill, not a real warning.",
    }


def _english(message: Message) -> dict | None:
    """Return the English text, or None when the officer wrote none."""
    content = message.content
    if not content.headline_en:
        return None
    return {
        "headline": title_prefix(message, english=True) + content.headline_en,
        "description": paragraphs(content.description_en),
        "instruction": paragraphs(content.instruction_en),
    }


# How much of a quoted claim the plain-text channels show (the portal shows it whole).
CLAIM_SHOWN = 500


def refutation(message: Message) -> dict | None:
    """Return the false claim a refutation quotes, its links defanged (they spread the fake),
    or None for any other warning."""
    found = message.content.refutation
    if found is None:
        return None
    return {
        "claim": paragraphs(found.claim),
        "claim_text": shorten(found.claim, CLAIM_SHOWN, "…"),
        "links": [defang(link) for link in found.links],
        "screenshot": bool(message.content.image),
    }


def _moment(moment) -> dict:
    return {"text": short_time(moment), "en": english_time(moment), "iso": iso_vietnam(moment)}


def facts(message: Message) -> dict:
    """Return what the template shows, already in the words and formats residents read."""
    content = message.content
    return {
        "banner": _banner(message),
        "cancelled": message.msg_type == "Cancel",
        "cancel_reason": message.cancel_reason,
        "update_mark": MSG_PREFIX_VI["Update"] if message.msg_type == "Update" else "",
        "headline": title_prefix(message) + content.headline,
        "event": event_name(content.warning_type),
        "event_en": event_name(content.warning_type, english=True),
        "severity": content.severity.lower(),
        "severity_word": SEVERITY_VI[content.severity],
        "description": paragraphs(content.description),
        "instruction": paragraphs(content.instruction),
        "regions": [r.name for r in message.regions],
        "phones": [_phone(p) for p in content.indicators.phones],
        "accounts": list(content.indicators.accounts),
        "links": [defang(link) for link in content.indicators.links],
        "issuer": message.issuer_name,
        "approver": message.approver_name,
        "sent": _moment(message.sent),
        "expires": _moment(message.expires),
        "code": message.display_code,
        "url": message.url,
        "official_link": _official(content.link),
        "english": _english(message),
        "refutation": refutation(message),
    }
