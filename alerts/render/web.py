"""The warning as the portal shows it at /a/<code>: the page residents reach from every
channel's short link, and where they check a verification code.

Drills and cancellations carry a banner no one can miss. Scam links are shown defanged
("vneid-capnhat[.]com/login") and never as links, so the page that warns about a link
cannot be the one that sends a resident to it; the official link is the only clickable one.
Every value is escaped by the template's HTML autoescape; nothing is marked safe.
"""

from __future__ import annotations

from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.common import template
from alerts.render.common import xml_values
from alerts.render.facts import facts

CHANNEL = "web"
MEDIA_TYPE = "text/html"


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the portal's HTML fragment of the warning."""
    values = xml_values(facts(message))  # HTML forbids the same characters XML does
    html = template("web.html").render(w=values)
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"html": html},
        counts={
            "characters": len(html),
            "bytes": len(html.encode("utf-8")),
            "regions": len(values["regions"]),
        },
    )
