"""Email: a subject and a multipart/alternative body (plain text first, then HTML).

The HTML is one inline-styled column that reads on a phone, escaped by the template's
autoescape, with the drill banner on top when needed. Nothing typed by an officer can reach a
header: the subject is one line with control characters removed and its length limited, and
the headers come from settings only, cleaned the same way. With an unsubscribe URL set, the
message carries ``List-Unsubscribe`` and, for an HTTPS URL, RFC 8058's one-click
``List-Unsubscribe-Post`` (both on one line: folding them has broken DKIM).
"""

from __future__ import annotations

import re

from alerts.errors import N_
from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.common import area_summary
from alerts.render.common import shorten
from alerts.render.common import template
from alerts.render.common import title_prefix
from alerts.render.facts import facts
from alerts.text import clean_line
from alerts.text import clean_text

CHANNEL = "email"
MEDIA_TYPE = "multipart/alternative"
# Inboxes show about 60 characters; past this the subject is shortened (marks and code kept).
SUBJECT_LIMIT = 150
_NOT_IN_URI = re.compile(r"[\s<>,\"]")


def subject(message: Message) -> str:
    """Return the subject on one line: marks, headline (shortened if needed), and the code."""
    values = {
        "marks": title_prefix(message),
        "headline": clean_line(message.content.headline),
        "code": message.display_code,
    }
    line = clean_line(template("email_subject.txt").render(**values))
    if len(line) > SUBJECT_LIMIT:
        room = len(values["headline"]) - (len(line) - SUBJECT_LIMIT)
        values["headline"] = shorten(values["headline"], room, "…")
        line = clean_line(template("email_subject.txt").render(**values))
    return line


def unsubscribe_url(settings: RenderSettings) -> str:
    """Return the unsubscribe URL fit for a header (no spaces, controls, "<", ">" or ","), or ""."""
    return _NOT_IN_URI.sub("", clean_line(settings.unsubscribe_url))


def headers(settings: RenderSettings, notes: list) -> dict[str, str]:
    """Return the headers: Auto-Submitted, and the RFC 8058 pair when unsubscribing is set."""
    found = {"Auto-Submitted": "auto-generated"}
    url = unsubscribe_url(settings)
    if url:
        found["List-Unsubscribe"] = f"<{url}>"
        if url.lower().startswith("https://"):
            found["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        else:
            notes.append((N_("One-click unsubscribe (RFC 8058) needs an HTTPS address."), {}))
    return found


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the email's subject, plain text and HTML, and its headers."""
    notes: list = []
    values = {
        "w": facts(message),
        "subject": subject(message),
        "description": clean_text(message.content.description),
        "instruction": clean_text(message.content.instruction),
        "reason": clean_text(message.cancel_reason),
        "area": area_summary(message),
        "unsubscribe": unsubscribe_url(settings),
    }
    text = template("email.txt").render(**values).strip()
    html = template("email.html").render(**values).strip()
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"subject": values["subject"], "text": text, "html": html},
        headers=headers(settings, notes),
        counts={"characters": len(text)},
        notes=tuple(notes),
    )
