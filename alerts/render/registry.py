"""Every channel renderer by name, and rendering one message for the channels it goes to.

The portal page, the CAP document and the feeds always carry a warning; the other channels
are those the officer chose.
"""

from __future__ import annotations

from collections.abc import Callable

from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render import atom
from alerts.render import cap
from alerts.render import email
from alerts.render import facebook
from alerts.render import sms
from alerts.render import telegram
from alerts.render import web
from alerts.render import webhook
from alerts.render import zalo

Renderer = Callable[[Message, RenderSettings], Rendering]
RENDERERS: dict[str, Renderer] = {
    m.CHANNEL: m.render for m in (web, cap, atom, zalo, facebook, telegram, sms, email, webhook)
}
ALWAYS = ("web", "cap", "atom")


def channels_of(message: Message) -> tuple[str, ...]:
    """Return the channels a message goes to: the public ones, then those chosen."""
    return ALWAYS + tuple(c for c in message.content.channels if c not in ALWAYS)


def render_all(message: Message, settings: RenderSettings) -> dict[str, Rendering]:
    """Render a message for every channel it goes to; TooLong names the first that fails."""
    return {channel: RENDERERS[channel](message, settings) for channel in channels_of(message)}


def preview(message: Message, settings: RenderSettings) -> dict[str, Rendering | TooLong]:
    """Render for every channel it goes to, keeping a channel's refusal instead of stopping."""
    found: dict[str, Rendering | TooLong] = {}
    for channel in channels_of(message):
        try:
            found[channel] = RENDERERS[channel](message, settings)
        except TooLong as refusal:
            found[channel] = refusal
    return found
