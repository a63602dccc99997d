"""Atom (RFC 4287) for the public region feeds: one entry per CAP message, and the feed.

Each entry follows the practice of CAP feeds that aggregators such as Google Public Alerts
read: its id is the CAP identifier (written as a tag URI, below), ``updated`` is the CAP
``sent`` time, and it links both
the portal page (text/html) and the CAP document (application/cap+xml) as alternates, so
an Update or a Cancel is a new entry rather than an edit of an old one.

Atom ids must be IRIs, and a CAP identifier (``canhbao.bocongan.gov.vn:7.1``) is not one
that validators accept: the entry's id is the same identifier as a tag URI (RFC 4151),
``tag:canhbao.bocongan.gov.vn,2026-12-01:7.1``, dated by the day the message was sent in
Vietnam, so that it never changes once the entry exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup

from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.common import event_name
from alerts.render.common import iso_vietnam
from alerts.render.common import local_time
from alerts.render.common import parse_checked
from alerts.render.common import template
from alerts.render.common import title_prefix
from alerts.render.common import xml_values
from alerts.render.facts import refutation

CHANNEL = "atom"
MEDIA_TYPE = "application/atom+xml"
NAMESPACE = "http://www.w3.org/2005/Atom"
ENTRY_TAG = f"{{{NAMESPACE}}}entry"
# Google Public Alerts reads feeds of at most 900 KB (100 KB is ideal); counted in bytes
# of UTF-8, with 1 KB = 1,000 bytes to stay on the safe side.
FEED_LIMIT = 900_000


def _summary(message: Message) -> str:
    """Return the summary: the marked headline, the cancel reason if any, a refutation's
    quoted claim, the instruction."""
    content = message.content
    lines = [title_prefix(message) + content.headline]
    claim = refutation(message)
    if claim:
        lines.append(f"Thông tin sai sự thật: «{claim['claim_text']}»")
    if message.msg_type == "Cancel" and message.cancel_reason:
        lines.append(f"Lý do hủy: {message.cancel_reason}")
    lines.append(content.instruction)
    return "\n".join(lines)


def entry_id(message: Message) -> str:
    """Return the entry's id: the CAP identifier as a tag URI dated by its sending day."""
    host, _, specific = message.identifier.partition(":")
    return f"tag:{host},{local_time(message.sent).date().isoformat()}:{specific}"


def context(message: Message) -> dict:
    """Return the entry's values, every string already XML-safe."""
    content = message.content
    return xml_values(
        {
            "id": entry_id(message),
            "title": title_prefix(message) + content.headline,
            "updated": iso_vietnam(message.sent),
            "author": message.issuer_name,
            "summary": _summary(message),
            "url": message.url,
            "cap_url": message.cap_url,
            "term": content.warning_type,
            "label": event_name(content.warning_type),
        }
    )


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render one Atom entry (an Atom Entry Document on its own, without XML declaration)."""
    xml = template("atom_entry.xml").render(e=context(message))
    parse_checked(xml, ENTRY_TAG)
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"xml": xml},
        counts={"bytes": len(xml.encode("utf-8")), "characters": len(xml)},
    )


def _updated(entry: str) -> datetime:
    """Return an entry's ``updated`` time, after checking it is a sound Atom entry."""
    if entry.lstrip().startswith("<?"):
        raise ValueError("an entry inside a feed cannot carry an XML declaration")
    root = parse_checked(entry, ENTRY_TAG)
    return datetime.fromisoformat(root.findtext(f"{{{NAMESPACE}}}updated", "").strip())


def _document(head: dict, entries: Sequence[str]) -> str:
    # The entries were parsed as Atom entries by _updated: they are our own markup.
    return template("atom_feed.xml").render(entries=[Markup(e) for e in entries], **head)


def _newest_within(head: dict, entries: Sequence[str]) -> list[str]:
    """Return the newest entries whose feed stays within FEED_LIMIT bytes."""
    budget = FEED_LIMIT - len(_document(head, []).encode("utf-8"))
    kept: list[str] = []
    for entry in entries:
        cost = len(entry.encode("utf-8")) + 1  # one line each
        if cost > budget:
            break
        budget -= cost
        kept.append(entry)
    return kept


def feed(entries: list[str], *, feed_id: str, title: str, self_url: str, updated: datetime) -> str:
    """Return a complete Atom feed of rendered entries, newest first.

    Google's 900 KB rule: entries are ordered by ``updated``, newest first, and the oldest
    are dropped until the feed fits FEED_LIMIT bytes (an older entry never displaces a
    newer one). Raises ValueError if an entry is not a sound Atom entry.
    """
    ordered = sorted(entries, key=_updated, reverse=True)
    head = xml_values(
        {"feed_id": feed_id, "title": title, "self_url": self_url, "updated": iso_vietnam(updated)}
    )
    kept = _newest_within(head, ordered)
    xml = _document(head, kept)
    while len(xml.encode("utf-8")) > FEED_LIMIT and kept:
        kept.pop()
        xml = _document(head, kept)
    parse_checked(xml, f"{{{NAMESPACE}}}feed")
    return xml
