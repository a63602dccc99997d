"""Inbound endpoints: what the channels send back (../shared/channels-inbound.md).

One module per channel, beside the senders of ``alerts.channels`` and as small: it exposes
``CHANNEL`` and ``receive(account, call) -> Accepted | Refusal``, and may expose
``handshake(account, call) -> Answer | None`` for a platform that checks a GET first (Meta's
verify token); one whose platform sends its events by GET (eSMS) sets ``GET_EVENTS = True``
instead, and its GETs go to ``receive``. A receiver checks the call's proof of origin on the
raw bytes, in constant time, and that the call is for this account (a valid signature for
someone else's OA is a forgery for us), then turns the body into ``Event``s, each with the
platform's own id so that a re-delivery is recognised. It never touches the database or
Flask and follows no link: the web layer (``alerts/web/hooks.py``) stores the events in the
inbox and answers, the worker applies them (``alerts/delivery/inbox.py``).

Inbound text is hostile: residents forward scams to us. It is kept as text, never rendered
as HTML, and only an officer ever puts any of it into a warning.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from types import ModuleType

from alerts.channels import CHANNELS

MAX_BODY = 256 * 1024  # bytes; the largest platform event (a DSN with its headers) is far less


class Kind(StrEnum):
    """What an event means for us, whatever the platform called it."""

    RECEIPT = "receipt"  # data: provider_id (or delivery_id), state, detail
    STOPPED = "stopped"  # the resident blocked, unfollowed, bounced or complained: data: reason
    RESUMED = "resumed"  # unblocked or followed again: noted, nothing reopens by itself
    START = "start"  # a subscribe-in-the-app link was opened: data: token
    MESSAGE = "message"  # the resident wrote to us: data: text
    CALLBACK = "callback"  # a button was pressed: data: payload
    OTHER = "other"  # understood, nothing to do (kept for the record)


RECEIPT_STATES = ("delivered", "read", "failed")


@dataclass(frozen=True)
class Call:
    """One HTTP call as it arrived: ``headers`` with lower-case names, ``body`` the exact
    bytes the platform signed, ``token`` the path segment after the account id ("" if none:
    eSMS's callbacks carry no signature, so their URL holds a secret)."""

    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    received: datetime
    token: str = ""


@dataclass(frozen=True)
class Answer:
    """What we answer the platform (each wants its own: Zalo a 200 within 2 s, eSMS's MO
    an XML ``ClientResponse``, Meta's handshake the challenge echoed)."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Event:
    """One event of a call. ``key`` is the platform's own id for it (``update_id``,
    ``msg_id``, SMSID and status ...): the same event delivered twice has the same key.
    ``sender`` is the resident's address on the channel (chat id, Zalo user id, phone,
    email), ``data`` what the kind needs; both are sealed in the inbox."""

    key: str
    kind: Kind
    sender: str | None = None
    data: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """The call is genuine and for this account: store ``events``, answer ``answer``."""

    events: tuple[Event, ...]
    answer: Answer = Answer()


@dataclass(frozen=True)
class Refusal:
    """The call is forged, unsigned, stale, malformed or for another account: nothing
    changes, the refusal is audited with ``reason`` (no secret, no resident's data) and the
    platform gets ``answer``."""

    reason: str
    answer: Answer = Answer(403, "forbidden")


def receiver(channel: str) -> ModuleType | None:
    """Return the inbound module of a channel, or None if the channel sends nothing back."""
    if channel not in CHANNELS:
        return None
    try:
        return importlib.import_module(f"{__name__}.{channel}")
    except ModuleNotFoundError as missing:
        if missing.name != f"{__name__}.{channel}":
            raise
        return None
