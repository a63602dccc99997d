"""Channel renderers: one module per channel behind one small interface.

A renderer turns a ``Message`` (one warning revision with everything it needs already
resolved: units, regions, code, links, times) into a ``Rendering`` in its channel's exact
format, from Jinja2 templates in ``templates/channels/``. Renderers are pure functions: no
database, no network, no Flask request, so the preview before approval and the worker at
delivery time produce byte-identical output.

Each channel module exposes ``CHANNEL`` (its name) and ``render(message, settings)``;
``alerts.render.registry`` lists them. A renderer shortens or splits within its channel's
limits; when the content cannot fit at all it raises ``TooLong`` naming the channel and
the limit, and the draft is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from alerts.errors import N_
from alerts.errors import Refused
from alerts.models import Region
from alerts.warnings.content import Content


@dataclass(frozen=True)
class Reference:
    """An earlier CAP message this one updates or cancels."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Message:
    """One message to render: a revision's content plus everything resolved around it.

    ``msg_type`` is "Alert", "Update" or "Cancel" (a Cancel carries the cancelled
    revision's content and ``cancel_reason``). Times are aware datetimes; renderers show
    them in Asia/Ho_Chi_Minh with an explicit +07:00 offset.
    """

    alert_id: int
    revision: int
    msg_type: str
    identifier: str
    sender: str
    sent: datetime
    content: Content
    issuer_code: str
    issuer_name: str
    approver_name: str | None
    regions: tuple[Region, ...]
    code: str
    url: str
    cap_url: str
    portal_url: str
    map_version: str
    references: tuple[Reference, ...] = ()
    cancel_reason: str = ""
    image_url: str | None = None

    @property
    def expires(self) -> datetime:
        """The expiry as an aware datetime."""
        return datetime.fromisoformat(self.content.expires_at)

    @property
    def display_code(self) -> str:
        """The verification code as people read it: "K7M4-XQ2P"."""
        return f"{self.code[:4]}-{self.code[4:]}"


@dataclass(frozen=True)
class RenderSettings:
    """Deployment choices that change renderings (from the app's settings).

    ``sign_cap``, when given, returns the CAP document with its XML signature
    (``alerts.warnings.cap_signatures.CapSigner.sign``): a function, so no renderer holds a key, and
    every channel that carries the CAP (the webhook) carries it signed.
    """

    sms_max_segments: int = 2
    unsubscribe_url: str = ""
    sign_cap: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Rendering:
    """What one channel sends: named parts (e.g. "text"; email "subject", "text", "html"),
    headers where the channel has them, counts shown in the preview, and notes for the
    approver (English msgids with ``%(name)s`` parameters, translated where shown)."""

    channel: str
    media_type: str
    parts: Mapping[str, str]
    headers: Mapping[str, str] = field(default_factory=dict)
    counts: Mapping[str, int | str] = field(default_factory=dict)
    notes: tuple[tuple[str, Mapping[str, object]], ...] = ()


class TooLong(Refused):
    """The warning cannot fit a channel's limit even shortened; names channel and limit."""

    def __init__(self, channel: str, limit: str):
        super().__init__(
            N_("Too long for %(channel)s: %(limit)s. Shorten the text."),
            None,
            channel=channel,
            limit=limit,
        )
        self.channel = channel
        self.limit = limit
