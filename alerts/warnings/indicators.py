"""Scam indicators (phone numbers, bank accounts, links) and the official-link rule.

Indicators are stored normalised so that a resident's lookup matches however the number or
link was typed: phones in E.164, accounts as "<bank> <digits>" keyed by the digits, links
with a lower-cased host keyed by the host. Police often "defang" links (``hxxp``, ``[.]``);
those are undone before parsing. Messages are English msgids, translated by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import phonenumbers

from alerts.errors import Refused
from alerts.text import clean_line

MAX_PER_KIND = 50
MAX_LENGTH = 300
_ACCOUNT = re.compile(r"(?P<bank>.*?)[\s:]*(?P<number>\d[\d .-]*\d)$")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DEFANG = (("hxxps", "https"), ("hxxp", "http"), ("[.]", "."), ("(.)", "."), ("[dot]", "."))


@dataclass(frozen=True)
class Indicator:
    """One indicator: its kind, its normalised value (shown) and its lookup key."""

    kind: str
    value: str
    key: str


def parse_phone(text: str, field: str = "phones") -> Indicator:
    """Return a phone number in E.164 (Vietnamese numbers may omit +84)."""
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Refused("Not a valid phone number: %(value)s", field, value=text)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Indicator("phone", e164, e164)


def parse_account(text: str, field: str = "accounts") -> Indicator:
    """Return a bank account as "<bank> <digits>" (the bank is optional), keyed by the digits."""
    match = _ACCOUNT.fullmatch(text)
    digits = re.sub(r"\D", "", match["number"]) if match else ""
    if not 6 <= len(digits) <= 20:
        raise Refused(
            "Not a bank account (a bank name, then 6 to 20 digits): %(value)s", field, value=text
        )
    bank = clean_line(match["bank"]).strip(" :-")
    return Indicator("account", f"{bank} {digits}" if bank else digits, digits)


def _host(netloc_host: str | None) -> str | None:
    """Return the host in lower-case ASCII (IDNA), or None if it is not a valid name."""
    if not netloc_host:
        return None
    try:
        host = netloc_host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def parse_link(text: str, field: str = "links") -> Indicator:
    """Return a scam link with a lower-cased host, keyed by the host without "www."."""
    value = text.strip()
    for fake, real in _DEFANG:
        value = re.sub(re.escape(fake), real, value, flags=re.IGNORECASE)
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        host = _host(parts.hostname)
    except ValueError:
        host = None
    if host is None or parts.scheme.lower() not in ("http", "https") or " " in value:
        raise Refused("Not a web link: %(value)s", field, value=text)
    path = parts.path if parts.path not in ("", "/") else ""
    query = f"?{parts.query}" if parts.query else ""
    normalised = f"{parts.scheme.lower()}://{host}{path}{query}"
    return Indicator("link", normalised, host.removeprefix("www."))


PARSERS = {"phones": parse_phone, "accounts": parse_account, "links": parse_link}


def parse_many(kind: str, values: list[str]) -> tuple[list[Indicator], list[Refused]]:
    """Parse one kind's entries (blank ones skipped, repeats folded); return them and problems."""
    found: dict[str, Indicator] = {}
    problems: list[Refused] = []
    entries = [clean_line(v) for v in values if clean_line(v)]
    if len(entries) > MAX_PER_KIND:
        problems.append(Refused("At most %(max)s entries.", kind, max=MAX_PER_KIND))
    for entry in entries[:MAX_PER_KIND]:
        if len(entry) > MAX_LENGTH:
            problems.append(
                Refused("An entry is longer than %(max)s characters.", kind, max=MAX_LENGTH)
            )
            continue
        try:
            indicator = PARSERS[kind](entry, kind)
        except Refused as problem:
            problems.append(problem)
        else:
            found.setdefault(indicator.value, indicator)
    return list(found.values()), problems


def official_link(text: str, domains: tuple[str, ...]) -> str:
    """Return an https link whose host is one of the official domains (or below one)."""
    value = text.strip()
    try:
        parts = urlsplit(value)
        host = _host(parts.hostname)
    except ValueError:
        host = None
    if host is None or parts.scheme != "https" or parts.username or parts.password:
        raise Refused("Enter a full https:// link.", "link")
    if not any(host == d or host.endswith("." + d) for d in domains):
        raise Refused(
            "Links may only point to official domains: %(domains)s",
            "link",
            domains=", ".join(domains),
        )
    return value
