"""Zalo OA: the consultation text, the article broadcast, and the template (ZNS) parameters.

Parts (the rendering's media type is ``application/json``, as the requests are JSON):

- "text": plain text (no markup) for ``message.text`` of ``POST /v3.0/oa/message/cs``, at
  most 2,000 characters (NFC), the description shortened first. It reaches only followers who
  interacted with the OA in the last 7 days.
- "article" and "broadcast": JSON request bodies for ``POST /v2.0/article/create`` and
  ``POST /v2.0/oa/message``, only when a province or the nation is targeted (a broadcast goes
  to followers, not to a commune). The sender puts the id from ``/v2.0/article/verify`` into
  ``attachment_id``, left empty here. ``target`` carries no ``cities``: Zalo's city codes are
  its own (the old 63 provinces, docs/channels.md#zalo) and no full mapping to the 2025 map is
  known, so a note tells the approver the broadcast is not limited to the province.
- "template_params": JSON ``template_data`` for a pre-approved ZBS/ZNS template: headline,
  code, link, unit and expiry. Zalo documents no parameter lengths, so none are cut
  (docs/channels.md#zalo).

The article body is plain text in ``text`` blocks with ``<``, ``>`` and ``&`` escaped, in case
Zalo reads it as HTML ([UNVERIFIED]: documented only with plain text, docs/channels.md#zalo).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata

from alerts.errors import N_
from alerts.models import Level
from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render.common import area_summary
from alerts.render.common import short_time
from alerts.render.common import shorten
from alerts.render.common import template
from alerts.render.facts import facts
from alerts.text import clean_line
from alerts.text import clean_text

CHANNEL = "zalo"
MEDIA_TYPE = "application/json"
TEMPLATE = "zalo_text.txt"
TEXT_LIMIT = 2000
# Indicators of each kind listed in the text; the warning page has them all.
TEXT_INDICATORS = 5
# [UNVERIFIED] Zalo publishes no article limits; these are conservative guesses
# (docs/channels.md#zalo).
ARTICLE_TITLE_LIMIT = 150
ARTICLE_AUTHOR_LIMIT = 50
ARTICLE_DESCRIPTION_LIMIT = 300
# A description cut shorter than this is left out (the link leads to the whole text).
MIN_DESCRIPTION = 40


def _text(
    message: Message, shrunk: str, *, show_headline: bool, cap: int, unsubscribe: str = ""
) -> str:
    values = {
        "unsubscribe": unsubscribe,
        "w": facts(message),
        "show_headline": show_headline,
        "shrunk": shrunk,
        "instruction": clean_text(message.content.instruction),
        "area": area_summary(message),
        "cap": cap,
    }
    text = template(TEMPLATE).render(**values).strip()
    return unicodedata.normalize("NFC", text)


def _shrinkable(message: Message) -> str:
    """Return the text that gives way first: the reason of a Cancel, else the description."""
    if message.msg_type == "Cancel":
        return clean_text(message.cancel_reason)
    return clean_text(message.content.description)


def consultation_text(message: Message, notes: list, unsubscribe: str = "") -> str:
    """Return the consultation text within 2,000 characters (with the resident's own stop
    link when there is one); raise TooLong if it can't fit."""
    shrunk = _shrinkable(message)
    text = _text(message, shrunk, show_headline=True, cap=TEXT_INDICATORS, unsubscribe=unsubscribe)
    if len(text) > TEXT_LIMIT:
        room = len(shrunk) - (len(text) - TEXT_LIMIT)
        shrunk = shorten(shrunk, room, "…") if room >= MIN_DESCRIPTION else ""
        text = _text(
            message, shrunk, show_headline=True, cap=TEXT_INDICATORS, unsubscribe=unsubscribe
        )
        notes.append((N_("The description was shortened to fit %(channel)s."), {"channel": "Zalo"}))
    if len(text) > TEXT_LIMIT:
        raise TooLong("Zalo", "2,000 characters")
    return text


def is_broadcast(message: Message) -> bool:
    """Return whether the warning targets a province or the nation (an article broadcast)."""
    return any(r.level in (Level.PROVINCE, Level.NATION) for r in message.regions)


def article(message: Message, notes: list) -> dict:
    """Return the ``/v2.0/article/create`` request body."""
    found = message.content.indicators
    every = max(len(found.phones), len(found.accounts), len(found.links), 1)
    body = _text(message, _shrinkable(message), show_headline=False, cap=every)
    blocks = [b.strip() for b in re.split(r"\n\s*\n", body) if b.strip()]
    request = {
        "type": "normal",
        "title": shorten(facts(message)["headline"], ARTICLE_TITLE_LIMIT, "…"),
        "author": shorten(clean_line(message.issuer_name), ARTICLE_AUTHOR_LIMIT, "…"),
        "description": shorten(
            " ".join(_shrinkable(message).split()), ARTICLE_DESCRIPTION_LIMIT, "…"
        ),
        "body": [{"type": "text", "content": html.escape(b, quote=False)} for b in blocks],
        "status": "show",
        "comment": "hide",
    }
    if message.image_url:
        request["cover"] = {"cover_type": "photo", "photo_url": message.image_url, "status": "show"}
    else:
        notes.append((N_("Zalo needs a cover image for the article: attach an image."), {}))
    return request


def broadcast(message: Message, notes: list) -> dict:
    """Return the ``/v2.0/oa/message`` broadcast body; ``attachment_id`` is filled on sending."""
    if any(r.level == Level.PROVINCE for r in message.regions):
        notes.append(
            (
                N_(
                    "Zalo's city filter uses its own codes, so the broadcast is not limited to "
                    "%(regions)s: it reaches the OA's followers everywhere."
                ),
                {"regions": area_summary(message)},
            )
        )
    element = {"media_type": "article", "attachment_id": ""}
    payload = {"template_type": "media", "elements": [element]}
    return {
        "recipient": {"target": {"gender": "0"}},
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


def template_params(message: Message) -> dict:
    """Return the ZBS/ZNS ``template_data``: headline, code, link, unit and expiry."""
    return {
        "headline": facts(message)["headline"],
        "code": message.display_code,
        "link": message.url,
        "unit": clean_line(message.issuer_name),
        "expiry": short_time(message.expires),
    }


def _json(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the Zalo parts; the article and broadcast only for a province or the nation."""
    notes: list = []
    parts = {"text": consultation_text(message, notes, settings.unsubscribe_url)}
    if is_broadcast(message):
        parts["article"] = _json(article(message, notes))
        parts["broadcast"] = _json(broadcast(message, notes))
    parts["template_params"] = _json(template_params(message))
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts=parts,
        counts={"characters": len(parts["text"])},
        notes=tuple(notes),
    )
