"""Channel clients: one module per channel API behind one small interface.

A client sends one rendered message to one target over the provider's real API and
classifies what came back into a ``Reaction`` (docs/reliability.md#reactions): the delivery engine
decides retries, refreshes and dead letters from that alone. Clients never touch the
database and never log secrets; they get the unit's ``Account`` (settings and decrypted
secrets) and an ``httpx.AsyncClient`` (pooled, explicit timeouts, no redirects) from the
engine, whose one event loop keeps hundreds of them waiting on providers at once.

Each channel is declared once, in ``CHANNELS`` below: what it reaches and what its client
can do. Everything else (the content's channel list, channel accounts, who gets a copy, the
residents' forms) derives from it, and ``tests/test_channel_specs.py`` checks every channel
has its client, renderer, template, policy and README row. Each client module exposes
``CHANNEL`` and the coroutine ``send(http, account, item) -> Outcome``; one that
``refreshes`` also ``needs_refresh(account, now)`` and ``refresh(http, account)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: the domain imports CHANNELS, and render imports the domain
    from alerts.render import Rendering


class Reaction(StrEnum):
    """What the engine does next with a delivery, whatever the channel."""

    OK = "ok"
    RETRY_AFTER = "retry_after"  # the provider said how long to wait
    RETRY_BACKOFF = "retry_backoff"  # transient: exponential backoff with full jitter
    REFRESH_TOKEN = "refresh_token"  # refresh credentials once, then retry once
    DISABLE_SUBSCRIBER = "disable_subscriber"  # this recipient cannot be reached
    GIVE_UP = "give_up"  # this payload will never be accepted: dead letter
    DISABLE_CHANNEL = "disable_channel"  # the account is broken: stop the channel
    UNKNOWN = "unknown"  # the request may have arrived (timeout after sending)


@dataclass(frozen=True)
class Outcome:
    """The classified result of one attempt; ``detail`` is short and holds no secret."""

    reaction: Reaction
    detail: str = ""
    retry_after: float | None = None
    provider_id: str | None = None
    status_code: int | None = None


@dataclass(frozen=True)
class Account:
    """A unit's account on a channel: where to send (``base_url``), its non-secret settings
    (page id, chat id, brandname, webhook URL, SMTP host ...) and its decrypted secrets."""

    id: int
    channel: str
    base_url: str
    settings: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print secrets, even in a traceback
        return f"Account(id={self.id}, channel={self.channel!r}, base_url={self.base_url!r})"


@dataclass(frozen=True)
class Item:
    """One delivery attempt: what to send, to whom, and the key that makes resends safe.

    ``target`` is "broadcast" for the unit's own Page, channel, OA or newsroom endpoint,
    or a resident's address (E.164 phone, email, Telegram chat id, Zalo user id).
    """

    idempotency_key: str
    target: str
    rendering: Rendering
    msg_type: str = "Alert"


@dataclass(frozen=True)
class Spec:
    """One channel, declared once."""

    name: str
    broadcast: bool  # the unit's own Page, channel, OA or newsroom endpoint gets a copy
    residents: int = 0  # 0: residents cannot subscribe on it; else its place in their list
    confirm_by_code: bool = False  # a resident's subscription is confirmed by a code sent on it
    refreshes: bool = False  # its tokens expire: the client refreshes them (Zalo OA)


# In the order staff see them; residents' own list puts SMS first (every phone has it).
CHANNELS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec("zalo", broadcast=True, residents=4, confirm_by_code=True, refreshes=True),
        Spec("facebook", broadcast=True),
        Spec("telegram", broadcast=True, residents=3, confirm_by_code=True),
        Spec("sms", broadcast=False, residents=1, confirm_by_code=True),
        Spec("email", broadcast=False, residents=2),
        Spec("webhook", broadcast=True),
    )
}
NAMES = tuple(CHANNELS)
BROADCAST = tuple(name for name, spec in CHANNELS.items() if spec.broadcast)
RESIDENTS = tuple(sorted((s for s in CHANNELS.values() if s.residents), key=lambda s: s.residents))
RESIDENT_NAMES = tuple(spec.name for spec in RESIDENTS)
CONFIRM_BY_CODE = tuple(spec.name for spec in RESIDENTS if spec.confirm_by_code)
