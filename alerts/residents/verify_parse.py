"""What a pasted text or a typed value names, for ``alerts.residents.verify``: verification codes,
phone numbers, links, bank accounts and amounts.

Kept apart from the check because finding these is pattern work on text alone (no database):
the codes say which warning to compare with, and the numbers and links are what a scammer
changes, so they are listed when they are not in the original and looked up in published
warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alerts.errors import Refused
from alerts.render import gsm
from alerts.render.common import defang
from alerts.residents.verify_compare import SCHEME
from alerts.warnings import codes as verification
from alerts.warnings import indicators

_CODE = r"([a-z0-9]{4}[ -]?[a-z0-9]{4})(?![a-z0-9])"
_LINK_CODE = re.compile(
    r"(?i)(?:^|[\s(])(?:(?:https?|hxxps?)://)?([^\s/]*)/a/([a-z0-9]{4}-?[a-z0-9]{4})"
)
_LABEL_CODE = re.compile(r"ma xac thuc\s*:?\s*" + _CODE)
_BARE_CODE = re.compile(r"(?<![a-z0-9-])([a-z0-9]{4}-?[a-z0-9]{4})(?![a-z0-9-])", re.I)
_CODE_SHAPE = re.compile(r"[a-z0-9]{4}[\s-]?[a-z0-9]{4}", re.I)
_URL = re.compile(r"(?i)(?:https?|hxxps?)://[^\s<>\"']+")
_HOSTLIKE = re.compile(
    r"(?i)(?<![\w@.\[/-])(?:[a-z0-9-]+(?:\.|\[\.\]|\(\.\)))+[a-z][a-z0-9-]*(?::\d+)?(?:/[^\s<>\"']*)?"
)
_COMMON_TLDS = set(
    "com net org vn info xyz top io co cc me site online app shop club vip biz link live"
    " store tk ml ga cf gq asia pro icu cn ru".split()
)
_PHONE = re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[ .-]?\d){8,10}(?!\d)")
# A number or amount: "5.000.000", "1,5", account numbers in groups ("9704 1234 5678").
_NUMBER = re.compile(r"(?<!\w)\d+(?:[.,]\d+)*(?: \d{3,4})*(?!\d)")
_TRAILING = ".,;:!?)]\"'"


# --- codes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Codes:
    """The codes in a text, in the order to try them; those it states outright (the whole
    text, a /a/<code> link or a "Mã xác thực:" label); a stated code outside our alphabet."""

    found: tuple[str, ...]
    stated: tuple[str, ...]
    misspelt: str | None
    link_host: str | None  # the host of the link, when the text is only a link


def is_code(text: str) -> bool:
    """Return whether the whole text is shaped like a code ("K7M4-XQ2P", "k7m4 xq2p")."""
    return _CODE_SHAPE.fullmatch(text) is not None


def find_codes(text: str) -> Codes:
    """Return the codes in a text: the whole text, /a/<code> links, labels, then tokens."""
    folded = gsm.strip_diacritics(text).lower()
    raw_stated = [text] if is_code(text) else []
    raw_stated += [m[2] for m in _LINK_CODE.finditer(text)] + _LABEL_CODE.findall(folded)
    stated = [verification.normalise(raw) for raw in raw_stated]
    misspelt = next((r.upper() for r, c in zip(raw_stated, stated, strict=True) if not c), None)
    tokens = [verification.normalise(raw) for raw in _BARE_CODE.findall(text)[:20]]
    found = tuple(dict.fromkeys(c for c in stated + tokens if c))
    match = _LINK_CODE.match(text) if len(text.split()) == 1 else None
    link_host = match[1].lower() if match else None
    return Codes(found, tuple(c for c in stated if c), misspelt, link_host)


# --- phone numbers, links and amounts ------------------------------------------------------


def _link_value(raw: str) -> str | None:
    try:
        value = indicators.parse_link(raw.rstrip(_TRAILING)).value
    except Refused:
        return None
    return SCHEME.sub("", value).lower()


def _bare_host_is_link(raw: str) -> bool:
    host = re.split(r"[/:]", raw.replace("[.]", ".").replace("(.)", "."), maxsplit=1)[0]
    return (
        "[.]" in raw
        or "(.)" in raw
        or host.lower().startswith("www.")
        or host.rsplit(".", 1)[-1].lower() in _COMMON_TLDS
    )


def mentioned(text: str) -> list[tuple[str, str, str]]:
    """Return the phone numbers, links and other numbers in a text, in order of appearance:
    (kind "phone"|"link"|"number", as written, normalised)."""
    found, spans = [], []
    for match in list(_URL.finditer(text)) + list(_HOSTLIKE.finditer(text)):
        if any(s <= match.start() < e for s, e in spans):
            continue
        raw = match[0].rstrip(_TRAILING)
        if match.re is _HOSTLIKE and not _bare_host_is_link(raw):
            continue
        value = _link_value(raw)
        if value:
            found.append((match.start(), "link", raw, value))
            spans.append((match.start(), match.end()))
    rest = "".join(" " if any(s <= i < e for s, e in spans) else ch for i, ch in enumerate(text))
    for match in _PHONE.finditer(rest):
        try:
            value = indicators.parse_phone(match[0]).value
        except Refused:
            continue
        found.append((match.start(), "phone", match[0], value))
        rest = rest[: match.start()] + " " * len(match[0]) + rest[match.end() :]
    for match in _NUMBER.finditer(rest):
        digits = re.sub(r"\D", "", match[0])
        if len(digits) >= 3:
            found.append((match.start(), "number", match[0], digits))
    return [(kind, raw, value) for _pos, kind, raw, value in sorted(found)]


def changed_indicators(pasted: str, texts: list[str]) -> tuple[tuple[str, str], ...]:
    """Return the phone numbers, links and numbers of the pasted text that no original has."""
    known = {(kind, value) for t in texts for kind, _raw, value in mentioned(t)}
    known |= {("number", v[-9:]) for kind, v in list(known) if kind == "phone"}
    changed: dict[tuple[str, str], str] = {}
    for kind, raw, value in mentioned(pasted):
        if (kind, value) in known or (kind == "number" and ("number", value[-9:]) in known):
            continue
        changed.setdefault((kind, value), raw)
    return tuple(
        (kind, defang(raw) if kind == "link" else raw) for (kind, _v), raw in changed.items()
    )


# --- a typed indicator -----------------------------------------------------------------------


def lookup_keys(value: str) -> list[tuple[str, str, str]]:
    """Return (kind, key, shown) for every reading of a typed value: phone, account, link."""
    keys = []
    for kind, parse in (("phone", indicators.parse_phone), ("account", indicators.parse_account)):
        try:
            found = parse(value)
        except Refused:
            continue
        if kind == "account" and value.startswith("+"):
            continue  # an international phone number, not an account
        keys.append((kind, found.key, found.value if kind == "phone" else found.key))
    if re.search(r"[a-zA-Z]", value) and not keys:
        try:
            link = indicators.parse_link(value)
        except Refused:
            link = None
        if link:
            labels = link.key.split(".")
            # A subdomain of a listed site is that site: a.b.scam.com finds scam.com.
            for start in range(len(labels) - 1):
                keys.append(("link", ".".join(labels[start:]), link.value))
    return keys
