"""A resident files a report with their commune's police, withdraws it, and it is purged.

One entry point for every channel: the portal's form calls ``file_report`` with what was
typed; a Zalo, Telegram or SMS conversation calls it with ``channel`` set, the bot's
``account_id`` and the sender's address as ``contact`` (so the unit can answer on the same
channel). Everything is checked before anything is stored, and every problem is reported at
once (``Invalid``). The report goes to the commune police unit of the chosen commune; only
the unit sees it (nothing about a report is public).

Privacy: the contact is normalised as a subscription address is, sealed with the data key
as ``{"channel": ..., "address": ...}`` (``sms``/``email`` for a portal report, else the
bot's channel) and kept masked for display; neither the contact nor the text ever goes into
the audit log or a log line. A report is deleted ``REPORT_RETENTION_DAYS`` after filing,
unless a warning came from it. Abuse: caps per contact and per network (counted like the
subscribe forms' in ``alerts.residents.limits``), size limits, screenshots re-encoded.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Invalid
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Level
from alerts.regions.jurisdiction import unit_code
from alerts.reports import screenshots
from alerts.residents.addresses import mask
from alerts.residents.addresses import normalise_address
from alerts.residents.limits import TooMany
from alerts.residents.limits import bump
from alerts.residents.limits import count
from alerts.residents.links import destination_key
from alerts.security import vault
from alerts.store import audit as audit_store
from alerts.store import regions as region_store
from alerts.store import reports as store
from alerts.store import units as unit_store
from alerts.text import clean_text
from alerts.warnings import codes
from alerts.warnings.indicators import PARSERS
from alerts.warnings.indicators import Indicator
from alerts.warnings.indicators import parse_many

KINDS = {
    "scam_call": N_("A scam phone call"),
    "scam_message": N_("A scam SMS or message (Zalo, Messenger, Telegram...)"),
    "fake_site": N_("A fake website, page or app"),
    "fake_news": N_("Fake news going around"),
    "crime_tip": N_("A tip about a crime"),
    "other": N_("Something else"),
}
CHANNELS = ("portal", "zalo", "telegram", "sms")
MAX_TEXT = 5000
MAX_CONTACT = 254
CODE_PREFIX = "BT"  # "báo tin": every reference reads BT-XXXX-XXXX
PER_CONTACT = 5  # reports from one contact per CONTACT_WINDOW
CONTACT_WINDOW = timedelta(hours=24)
PER_NETWORK = 10  # reports, or withdrawal attempts, from one network per NETWORK_WINDOW
NETWORK_WINDOW = timedelta(hours=1)
_REGION_CODE = re.compile(r"[0-9]{5}")


@dataclass(frozen=True)
class Contact:
    """How to reach the reporter back: a channel and an address on it."""

    channel: str
    address: str


@dataclass(frozen=True)
class Filed:
    """What the reporter is told at once: the reference and where the report went."""

    id: int
    code: str
    kind: str
    region_name: str
    unit_name: str
    indicators: tuple[Indicator, ...]
    has_image: bool
    contact_masked: str | None
    purge_after: datetime


# --- checks ------------------------------------------------------------------------------


def _check(problems: list[Refused], check, *args):
    """Run one check; record its refusal and return None instead of raising."""
    try:
        return check(*args)
    except Invalid as invalid:
        problems.extend(invalid.problems)
    except Refused as problem:
        problems.append(problem)
    return None


def _kind(kind: str | None) -> str:
    if kind not in KINDS:
        raise Refused(N_("Choose what happened."), "kind")
    return kind


def _region(db: sqlite_utils.Database, code: str | None):
    code = (code or "").strip()
    region = region_store.get_region(db, code) if _REGION_CODE.fullmatch(code) else None
    if region is None or region.level != Level.COMMUNE:
        raise Refused(N_("Choose your commune or ward from the list."), "region")
    return region


def _text(text: str | None) -> str:
    cleaned = clean_text(text or "")
    if not cleaned:
        raise Refused(N_("Tell us what happened."), "text")
    if len(cleaned) > MAX_TEXT:
        raise Refused(N_("At most %(max)s characters."), "text", max=MAX_TEXT)
    return cleaned


def _indicators(given: Mapping[str, Iterable[str]] | None) -> tuple[Indicator, ...]:
    unknown = set(given or {}) - set(PARSERS)
    if unknown:
        raise ValueError(f"unknown indicator kinds: {sorted(unknown)}")  # a caller's bug
    found: list[Indicator] = []
    problems: list[Refused] = []
    for kind in PARSERS:
        parsed, refused = parse_many(kind, list((given or {}).get(kind, ())))
        found += parsed
        problems += refused
    if problems:
        raise Invalid(problems)
    return tuple(found)


def _contact(channel: str, contact: str | None) -> Contact | None:
    """Return the reporter's contact, normalised: a portal reporter gives a phone or an
    email (optional); a chat is answered where it came from (its sender is required)."""
    text = (contact or "").strip()
    if channel != "portal":
        if not text:
            raise ValueError("a chat report needs its sender's address")  # a caller's bug
        return Contact(channel, normalise_address(channel, text))
    if not text:
        return None
    if len(text) > MAX_CONTACT:
        raise Refused(N_("Enter a mobile number or an email address."), "contact")
    by = "email" if "@" in text else "sms"
    try:
        return Contact(by, normalise_address(by, text))
    except Refused as problem:
        raise Refused(problem.message, "contact", **problem.params) from None


# --- limits ------------------------------------------------------------------------------


def _network_key(ip: str) -> str:
    return f"report:ip:{ip[:64]}"


def _check_network(db, ip: str | None, now: datetime) -> None:
    """Refuse once the network sent its reports for the hour; else count this one (chats
    arrive without the resident's address: their cap is the contact's)."""
    if ip is None:
        return
    if count(db, _network_key(ip), now, NETWORK_WINDOW) >= PER_NETWORK:
        raise TooMany(N_("Too many reports from your network. Try again in an hour."))
    bump(db, _network_key(ip), now, NETWORK_WINDOW)


def _check_contact(db, config: Mapping, contact: Contact | None, now: datetime) -> None:
    if contact is None:
        return
    key = destination_key(config, "report", contact.channel, contact.address)
    if count(db, key, now, CONTACT_WINDOW) >= PER_CONTACT:
        raise TooMany(
            N_(
                "We have already received %(max)s reports from you today. Please try again"
                " tomorrow, or call 113 if it is urgent."
            ),
            max=PER_CONTACT,
        )
    bump(db, key, now, CONTACT_WINDOW)


# --- the resident's actions -----------------------------------------------------------------


def file_report(
    db: sqlite_utils.Database,
    config: Mapping,
    *,
    channel: str,
    kind: str | None,
    region_code: str | None,
    text: str | None,
    indicators: Mapping[str, Iterable[str]] | None = None,
    image: bytes | None = None,
    contact: str | None = None,
    account_id: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Filed:
    """File a report with the commune police of ``region_code``; return its reference.

    ``indicators`` maps ``phones``, ``accounts`` and ``links`` to what was typed, one entry
    each. Raises ``Invalid`` listing every problem, ``TooMany`` past the caps (nothing is
    stored either way)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown report channel {channel!r}")  # a caller's bug
    now = now or utcnow()
    problems: list[Refused] = []
    checked = (
        _check(problems, _kind, kind),
        _check(problems, _region, db, region_code),
        _check(problems, _text, text),
        _check(problems, _indicators, indicators) or (),
        _check(problems, _contact, channel, contact),
        _check(problems, screenshots.clean, image) if image else None,
    )
    if problems:
        raise Invalid(problems)
    kind, region, text, found, reached, shot = checked
    unit = unit_store.get_unit_by_code(db, unit_code(region.code))
    if unit is None:  # the map and the units are loaded together (init-db)
        raise Refused(N_("This commune has no police unit yet: choose another."), "region")
    purge_after = now + timedelta(days=config["REPORT_RETENTION_DAYS"])
    sealed = vault.seal(config, asdict(reached)) if reached else None
    masked = mask(reached.channel, reached.address) if reached else None
    with write(db):
        _check_network(db, ip, now)
        _check_contact(db, config, reached, now)
        code = _new_code(db)
        new = store.NewReport(
            code=code,
            kind=kind,
            region_code=region.code,
            unit_id=unit.id,
            text=text,
            channel=channel,
            account_id=account_id,
            contact_sealed=sealed,
            contact_masked=masked,
            created_at=to_text(now),
            purge_after=to_text(purge_after),
        )
        report_id = store.insert_report(db, new)
        store.insert_indicators(db, report_id, found)
        if shot is not None:
            sealed_shot = screenshots.seal(config, shot)
            store.insert_image(db, report_id, shot.mime, sealed_shot, to_text(now))
        detail = {"code": code, "kind": kind, "region": region.code, "channel": channel}
        _log(db, ip, "report.filed", f"report:{report_id}", detail)
    return Filed(
        id=report_id,
        code=code,
        kind=kind,
        region_name=region.name,
        unit_name=unit.name,
        indicators=found,
        has_image=shot is not None,
        contact_masked=masked,
        purge_after=purge_after,
    )


@dataclass(frozen=True)
class Withdrawn:
    """A withdrawn report's reference, and whether it had been withdrawn before."""

    code: str
    already: bool


def withdraw(
    db: sqlite_utils.Database, code: str, *, ip: str | None = None, now: datetime | None = None
) -> Withdrawn:
    """Withdraw a report by its reference: it is marked withdrawn, and how to reach its
    reporter and their screenshot are deleted at once. NotFound for an unknown code;
    attempts count against the network, so codes cannot be guessed."""
    now = now or utcnow()
    normalised = normalise_code(code)
    with write(db):  # committed on its own: a wrong code counts too
        _check_network(db, ip, now)
    with write(db):
        ref = store.find_by_code(db, normalised) if normalised else None
        if ref is None:
            raise NotFound(code)
        if ref.status == "withdrawn":
            return Withdrawn(ref.code, already=True)
        store.withdraw(db, ref.id, to_text(now))
        _log(db, ip, "report.withdrawn", f"report:{ref.id}", {"code": ref.code})
    return Withdrawn(ref.code, already=False)


def purge_expired(db: sqlite_utils.Database, now: datetime | None = None) -> int:
    """Delete the reports past their retention that no warning came from (the worker calls
    this every hour); return how many, audited when any."""
    with write(db):
        purged = store.purge_expired(db, to_text(now or utcnow()))
        if purged:
            entry = audit.make_entry(audit.SYSTEM, "report.purged", None, {"count": purged})
            audit_store.append(db, entry)
    return purged


def reveal_contact(config: Mapping, sealed: bytes) -> Contact:
    """Return the sealed contact of a report (for the unit answering the reporter)."""
    return Contact(**vault.unseal(config, sealed))


# --- references ----------------------------------------------------------------------------


def _new_code(db: sqlite_utils.Database) -> str:
    """Return a fresh reference "BT-K7M4-XQ2P" (the verification codes' alphabet: no 0/O
    or 1/I to mistype); the caller's write keeps it unique."""
    while True:
        letters = "".join(secrets.choice(codes.ALPHABET) for _ in range(codes.LENGTH))
        code = f"{CODE_PREFIX}-{codes.display(letters)}"
        if not store.code_taken(db, code):
            return code


def normalise_code(text: str) -> str | None:
    """Return the reference inside what a person typed ("bt k7m4xq2p", "K7M4-XQ2P"), or
    None if it cannot be one."""
    letters = re.sub(r"[\s-]", "", text or "").upper()
    if len(letters) == codes.LENGTH + len(CODE_PREFIX) and letters.startswith(CODE_PREFIX):
        letters = letters[len(CODE_PREFIX) :]
    found = codes.normalise(letters)
    return f"{CODE_PREFIX}-{codes.display(found)}" if found else None


def _log(db, ip: str | None, action: str, obj: str, detail: dict) -> None:
    entry = audit.make_entry(audit.Actor("anonymous", None, ip), action, obj, detail)
    audit_store.append(db, entry)
