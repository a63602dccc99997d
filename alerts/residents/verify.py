"""Residents' checks: is this message a genuine police warning, and is this number in one?

``check`` takes whatever a resident pasted (a code, a short link, or a whole message as it
arrived by SMS, Zalo, Telegram, Facebook or email), finds the verification code in it and
compares the text with what every channel sent for that code. The answer is one of three:
genuine (with the signed original), altered (the code is real but the text differs: the
differences and any phone number, link or amount that is not in the original) or not an
official warning. ``lookup`` tells whether a phone number, bank account or link appears in
a published warning. Nothing here writes: no database rows, no audit entries.

How texts are normalised and matched is in ``alerts.residents.verify_compare``; how
codes, numbers and links are found in them is in ``alerts.residents.verify_parse``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlite_utils

from alerts.clock import utcnow
from alerts.errors import N_
from alerts.errors import Refused
from alerts.render import registry
from alerts.render.common import defang
from alerts.residents import portal
from alerts.residents import verify_signal
from alerts.residents.verify_claims import Refuted
from alerts.residents.verify_claims import refuted
from alerts.residents.verify_compare import closest
from alerts.residents.verify_compare import plain
from alerts.residents.verify_compare import tidy
from alerts.residents.verify_compare import unmatched_lines
from alerts.residents.verify_compare import word_diff
from alerts.residents.verify_parse import Codes
from alerts.residents.verify_parse import changed_indicators
from alerts.residents.verify_parse import find_codes
from alerts.residents.verify_parse import is_code
from alerts.residents.verify_parse import lookup_keys
from alerts.residents.verify_parse import mentioned
from alerts.residents.verify_signal import Confirmed
from alerts.residents.verify_signal import Signal
from alerts.store import portal as portal_store
from alerts.store import units as unit_store
from alerts.store import warnings as store
from alerts.warnings import codes as verification
from alerts.warnings import indicators
from alerts.warnings import publication
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

MAX_TEXT = 5000
MAX_LOOKUP = indicators.MAX_LENGTH
MAX_HITS = 50
MAX_MENTIONS = 10
GENUINE, ALTERED, NOT_OFFICIAL = "genuine", "altered", "not_official"
# Not official, and more: it repeats a claim the police have refuted.
REFUTED = "refuted"
# What each channel sends that a resident can read (CAP, Atom and webhooks are for machines).
TEXT_PARTS = {
    "sms": ("text",),
    "zalo": ("text",),
    "facebook": ("message",),
    "telegram": ("text",),
    "email": ("subject", "text", "html"),
    "web": ("html",),
}
HTML_PARTS = {("telegram", "text"), ("email", "html"), ("web", "html")}


@dataclass(frozen=True)
class SignatureCheck:
    """One stored signature of the warning (its publication, or its cancellation)."""

    msg_type: str
    present: bool
    valid: bool = False
    key_id: str = ""


@dataclass(frozen=True)
class Standing:
    """Who issued a warning, who approved it, its times, and where it stands now:
    ``state`` is active, updated (``newest_code`` is the latest revision), cancelled or
    expired; an expired or cancelled warning is still genuine but no longer applies."""

    code: str
    headline: str
    issuer: str
    approver: str | None
    mode: str
    published_at: str
    expires_at: str
    state: str
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    newest_code: str | None = None
    newest_state: str | None = None

    @property
    def display_code(self) -> str:
        """The code as people read it: "K7M4-XQ2P"."""
        return verification.display(self.code)


@dataclass(frozen=True)
class Hit:
    """A published warning that lists an indicator: its code, headline, unit and state."""

    kind: str
    value: str
    code: str
    headline: str
    issuer: str
    published_at: str
    state: str

    @property
    def display_code(self) -> str:
        """The code as people read it: "K7M4-XQ2P"."""
        return verification.display(self.code)


@dataclass(frozen=True)
class Verification:
    """The answer to a pasted text: ``verdict`` (GENUINE, ALTERED, NOT_OFFICIAL, REFUTED) and why
    (``reason``, an English msgid with ``params``). For a real code: the warning's standing,
    the signature checks and the closest original (``channel``, ``original``); for an altered
    text the word diff of both sides (("same"|"added", text) pasted, ("same"|"removed", text)
    original) and the phone numbers, links and numbers not in the original (``changed``).
    For a text without a known code, ``mentions`` lists warnings naming its numbers or links,
    and ``refutations`` the refutations in force whose claim it repeats (verdict REFUTED)."""

    verdict: str
    reason: str
    params: Mapping[str, str]
    warning: Standing | None = None
    signatures: tuple[SignatureCheck, ...] = ()
    channel: str = ""
    original: str = ""
    pasted_diff: tuple[tuple[str, str], ...] = ()
    original_diff: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str], ...] = ()
    mentions: tuple[Hit, ...] = ()
    refutations: tuple[Refuted, ...] = ()


@dataclass(frozen=True)
class Lookup:
    """The answer to an indicator lookup: what was searched (``searched``: kind, value), the
    published warnings that list it, newest first, the units that confirmed residents'
    reports of it, and the open reports' signal (``alerts.residents.verify_signal``). None
    found does not mean safe."""

    query: str
    searched: tuple[tuple[str, str], ...]
    hits: tuple[Hit, ...]
    confirmed: tuple[Confirmed, ...] = ()
    signal: Signal | None = None


# --- the warning behind a code ---------------------------------------------------------------


def standing(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> Standing:
    """Return who issued and approved a published revision and where it stands now (as the
    portal page says it: ``alerts.residents.portal.state``)."""
    message = publication.message_for(db, alert, public_url=config["PUBLIC_URL"])
    now = utcnow()
    newest = portal.newest(db, alert)
    later = newest.id != alert.id
    return Standing(
        code=alert.code,
        headline=alert.content.headline,
        issuer=message.issuer_name,
        approver=message.approver_name,
        mode=alert.content.mode,
        published_at=alert.published_at,
        expires_at=alert.content.expires_at,
        state=portal.state(alert, now),
        cancelled_at=alert.cancelled_at,
        cancel_reason=alert.cancel_reason,
        newest_code=newest.code if later else None,
        newest_state=portal.state(newest, now) if later else None,
    )


def signature_checks(
    db: sqlite_utils.Database, alert: Alert, config: Mapping
) -> tuple[SignatureCheck, ...]:
    """Check the stored signature of each message of a revision (its publication, and its
    cancellation once cancelled) with this deployment's public key."""
    kinds = [alert.msg_type] + (["Cancel"] if alert.status == Status.CANCELLED else [])
    try:
        stored = {c["msg_type"]: c for c in publication.signature_checks(db, alert, config)}
    except (ValueError, OSError):  # no usable key here: nothing can be shown as valid
        stored = {}
    return tuple(
        SignatureCheck(kind, True, stored[kind]["valid"], stored[kind]["key_id"])
        if kind in stored
        else SignatureCheck(kind, present=False)
        for kind in kinds
    )


def renderings(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> list[tuple[str, str]]:
    """Return (channel, plain text) for every readable part every channel sent for a
    revision: its Alert or Update, and its Cancel once cancelled."""
    public_url = config["PUBLIC_URL"].rstrip("/")
    # A resident's copy, as sent but for their token (links to this site other than
    # /a/<code> compare equal: alerts.residents.verify_compare).
    settings = publication.render_settings(config)
    kinds = [alert.msg_type] + (["Cancel"] if alert.status == Status.CANCELLED else [])
    found = []
    for msg_type in kinds:
        message = publication.message_for(db, alert, public_url=public_url, msg_type=msg_type)
        for channel, names in TEXT_PARTS.items():
            try:
                rendering = registry.RENDERERS[channel](message, settings)
            except (Refused, ValueError):
                continue
            for name, text in rendering.parts.items():
                if name.split("_")[0] in names:
                    is_html = (channel, name.split("_")[0]) in HTML_PARTS
                    found.append((channel, plain(text) if is_html else tidy(text)))
    return found


# --- the check -------------------------------------------------------------------------------


def _not_official(db, text: str, config: Mapping, reason: str, **params: str) -> Verification:
    """Answer "not official", or REFUTED when the text repeats a refuted claim."""
    mentions = _mentions(db, text)
    found = refuted(db, text, config)
    if found:
        reason = N_("This information was refuted by %(unit)s on %(date)s.")
        params = {"unit": found[0].unit, "date": found[0].date}
        return Verification(REFUTED, reason, params, mentions=mentions, refutations=found)
    return Verification(NOT_OFFICIAL, reason, params, mentions=mentions)


def check(db: sqlite_utils.Database, text: str, config: Mapping) -> Verification:
    """Answer whether a pasted code, link or message is a genuine warning (see the module
    docstring). Refused for an empty text or one over MAX_TEXT characters."""
    text = text or ""
    if len(text) > MAX_TEXT:
        raise Refused(
            N_("The text is longer than %(max)s characters. Paste only the message you received."),
            "text",
            max=MAX_TEXT,
        )
    text = tidy(text)
    if not text:
        raise Refused(N_("Paste a message, a code or a link."), "text")
    codes = find_codes(text)
    alert = next(filter(None, (portal_store.by_code(db, c) for c in codes.found)), None)
    if alert is not None:
        return _compare(db, alert, text, codes, config)
    if codes.stated:
        reason = N_("No official warning has the code %(code)s.")
        return _not_official(db, text, config, reason, code=verification.display(codes.stated[0]))
    if codes.misspelt:
        reason = N_("%(code)s is not a valid code: codes never contain 0, 1, O or I.")
        return _not_official(db, text, config, reason, code=codes.misspelt)
    reason = N_(
        "This text carries no verification code. Every official warning has one,"
        " like K7M4-XQ2P, and a link to this site."
    )
    return _not_official(db, text, config, reason)


def _compare(db, alert: Alert, text: str, codes: Codes, config: Mapping) -> Verification:
    host = urlsplit(config["PUBLIC_URL"]).netloc.lower()
    texts = renderings(db, alert, config)
    found = {
        "warning": standing(db, alert, config),
        "signatures": signature_checks(db, alert, config),
    }
    if is_code(text) or codes.link_host is not None:
        channel, original = next((t for t in texts if t[0] == "zalo"), texts[0])
        if codes.link_host and codes.link_host.removeprefix("www.") != host:
            return Verification(
                ALTERED,
                N_("The code is real, but the link does not lead to this site: %(host)s"),
                {"host": codes.link_host},
                channel=channel,
                original=original,
                changed=(("link", defang(text)),),
                **found,
            )
        return Verification(
            GENUINE,
            N_("This code belongs to an official police warning."),
            {},
            channel=channel,
            original=original,
            **found,
        )
    missing = unmatched_lines(text, [t for _c, t in texts], host)
    channel, original = closest(text, texts)
    if not missing:
        return Verification(
            GENUINE,
            N_("This text matches an official police warning."),
            {},
            channel=channel,
            original=original,
            **found,
        )
    original_diff, pasted_diff = word_diff(original, text)
    return Verification(
        ALTERED,
        N_("The code is real, but the text differs from the official warning."),
        {},
        channel=channel,
        original=original,
        original_diff=original_diff,
        pasted_diff=pasted_diff,
        changed=changed_indicators(text, [t for _c, t in texts]),
        **found,
    )


# --- indicator lookup ------------------------------------------------------------------------


def lookup(db: sqlite_utils.Database, value: str, config: Mapping) -> Lookup:
    """Return the published warnings listing a phone number, bank account or link, and what
    residents reported about it (confirmed, or the open reports' signal).

    Refused for an empty value, one over MAX_LOOKUP characters, or one that is none of the
    three. Nothing found does not make a number or link safe; the page says so.
    """
    value = " ".join(unicodedata.normalize("NFC", value or "").split())
    if len(value) > MAX_LOOKUP:
        raise Refused(
            N_("At most %(max)s characters: enter one number or link."), "value", max=MAX_LOOKUP
        )
    if not value:
        raise Refused(N_("Enter a phone number, an account number or a link."), "value")
    keys = lookup_keys(value)
    if not keys:
        raise Refused(N_("This is not a phone number, an account number or a web link."), "value")
    hits: dict[str, Hit] = {}
    for kind, key, _shown in keys:
        for hit in _hits(db, kind, key):
            hits.setdefault(hit.code, hit)
    ordered = sorted(hits.values(), key=lambda h: h.published_at, reverse=True)
    searched = tuple(dict.fromkeys((kind, shown) for kind, _key, shown in keys))
    pairs = [(kind, key) for kind, key, _shown in keys]
    return Lookup(
        value,
        searched,
        tuple(ordered),
        confirmed=verify_signal.confirmed(db, pairs),
        signal=verify_signal.signal(db, config, pairs),
    )


def _mentions(db: sqlite_utils.Database, text: str) -> tuple[Hit, ...]:
    """Return the warnings that list a phone number, link or account named in a text."""
    hits: dict[str, Hit] = {}
    for kind, raw, value in mentioned(text)[:MAX_MENTIONS]:
        if kind == "phone":
            keys = [("phone", value)]
        elif kind == "link":
            keys = [(k, key) for k, key, _shown in lookup_keys(raw) if k == "link"]
        else:
            keys = [("account", value)] if 6 <= len(value) <= 20 else []
        for key_kind, key in keys:
            for hit in _hits(db, key_kind, key):
                hits.setdefault(hit.code, hit)
    return tuple(sorted(hits.values(), key=lambda h: h.published_at, reverse=True))


def _hits(db: sqlite_utils.Database, kind: str, key: str) -> list[Hit]:
    """Return the live warnings that list an indicator, newest first (see
    ``alerts.store.warnings.listing_indicator``)."""
    now = utcnow()
    found = []
    for alert_id, value in store.listing_indicator(db, kind, key, MAX_HITS):
        alert = store.get_alert(db, alert_id)
        issuer = unit_store.get_unit(db, alert.unit_id)
        found.append(
            Hit(
                kind,
                defang(value) if kind == "link" else value,
                alert.code,
                alert.content.headline,
                issuer.name if issuer else "",
                alert.published_at,
                portal.state(alert, now),
            )
        )
    return found
