"""Whether a pasted message or link repeats a claim the police have refuted.

A false claim is passed on re-typed without diacritics, shortened, re-punctuated, or inside a
longer forward. Both sides are brought to one form (NFC, casefold, diacritics and
punctuation dropped, spaces collapsed) and compared with rapidfuzz: the token set ratio
(the words of one side contained in the other) and the partial ratio (the shorter text
aligned inside the longer, so a few typos still match) must both reach ``THRESHOLD``, and
the shared part must be long enough to be the claim rather than a common phrase
(``MIN_CHARS``, ``MIN_SHARE`` of the claim). Links match by their normalised form, or by
host when either side names only a host. Only refutations in force count
(``alerts.store.refutations.in_force``).

Speed: the normalised form of each refutation is cached by (id, content hash), so a check
reads two columns per refutation and runs rapidfuzz's C scorers over the cached forms;
``scripts/refutation_bench.py`` measures it with thousands of refutations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlite_utils
from rapidfuzz import fuzz
from rapidfuzz import process

from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.errors import Refused
from alerts.render.gsm import strip_diacritics
from alerts.residents.verify_compare import SCHEME
from alerts.residents.verify_parse import mentioned
from alerts.store import refutations as store
from alerts.store import units as unit_store
from alerts.store import warnings as warning_store
from alerts.text import nfc
from alerts.warnings import codes as verification
from alerts.warnings.indicators import parse_link

# Measured on the tests' texts (tests/test_verify_refuted.py): re-typed, shortened and
# re-punctuated copies score 94 to 100 on both scorers, a forward with typos and words
# around it 83 and 85; a claim on the same subject that says something else 73 and 78.5
# (the lower of the two decides), an unrelated warning 50.
THRESHOLD = 80
MIN_CHARS = 24
MIN_SHARE = 0.4
MAX_SHOWN = 3
_CACHE_LIMIT = 50_000
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Refuted:
    """A refutation a pasted text repeats: its code, the unit and day of the correction
    (dd/mm/yyyy in the display time zone), its headline and its facts (the description)."""

    code: str
    unit: str
    date: str
    headline: str
    facts: str
    by_link: bool

    @property
    def display_code(self) -> str:
        """The code as people read it: "K7M4-XQ2P"."""
        return verification.display(self.code)


@dataclass(frozen=True)
class _Claim:
    """What a check needs of one refutation, derived once from its content."""

    form: str
    links: frozenset[str]
    hosts: frozenset[str]
    alert_id: int


_cache: dict[tuple[int, str], _Claim] = {}


def claim_form(text: str) -> str:
    """Return the comparison form of a text: NFC, casefold, no diacritics, no punctuation,
    single spaces ("Khẩn: KHÓA tài khoản!!" -> "khan khoa tai khoan")."""
    folded = strip_diacritics(nfc(text).casefold())
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _link_form(value: str) -> str:
    """Return a link as compared: no scheme, lower case, no "www."."""
    return SCHEME.sub("", value).lower().removeprefix("www.").rstrip("/")


def _host(link: str) -> str:
    return re.split(r"[/?#]", link, maxsplit=1)[0]


def _claim(db: sqlite_utils.Database, alert_id: int, content_hash: str) -> _Claim:
    """Return the cached form of a refutation, deriving it on first use."""
    key = (alert_id, content_hash)
    found = _cache.get(key)
    if found is None:
        refutation = warning_store.get_alert(db, alert_id).content.refutation
        links = frozenset(_link_form(link) for link in refutation.links)
        found = _Claim(claim_form(refutation.claim), links, frozenset(map(_host, links)), alert_id)
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = found
    return found


def _pasted_links(text: str) -> set[str]:
    """Return the links in a pasted text in their compared form (defanged ones included)."""
    found = {_link_form(value) for kind, _raw, value in mentioned(text) if kind == "link"}
    if not found and " " not in text.strip():
        try:
            found = {_link_form(parse_link(text).value)}
        except Refused:
            pass
    return found


def _link_match(pasted: set[str], claim: _Claim) -> bool:
    """Whether a pasted link is one the claim spreads (by host when one side has no path)."""
    for link in pasted:
        host = _host(link)
        if link in claim.links or host in claim.links or (link == host and host in claim.hosts):
            return True
    return False


def _text_match(pasted: str, claim: str) -> bool:
    """Whether a pasted form repeats a claim form (see the module docstring)."""
    shorter, longer = sorted((pasted, claim), key=len)
    if len(shorter) < MIN_CHARS or len(pasted) < MIN_SHARE * len(claim):
        return False
    return fuzz.partial_ratio(shorter, longer) >= THRESHOLD


def _refuted(db, claim: _Claim, by_link: bool, zone: ZoneInfo) -> Refuted:
    alert = warning_store.get_alert(db, claim.alert_id)
    unit = unit_store.get_unit(db, alert.unit_id)
    day = from_text(alert.published_at).astimezone(zone).strftime("%d/%m/%Y")
    content = alert.content
    return Refuted(
        alert.code, unit.name if unit else "", day, content.headline, content.description, by_link
    )


def refuted(db: sqlite_utils.Database, text: str, config: Mapping) -> tuple[Refuted, ...]:
    """Return the refutations in force that a pasted text (already tidied) repeats, by
    text or by link, newest first, at most MAX_SHOWN."""
    claims = [_claim(db, i, h) for i, h in store.in_force(db, to_text(utcnow()))]
    if not claims:
        return ()
    pasted = claim_form(text)
    links = _pasted_links(text)
    zone = ZoneInfo(config.get("DISPLAY_TIMEZONE", "Asia/Ho_Chi_Minh"))
    by_link = {i for i, c in enumerate(claims) if links and _link_match(links, c)}
    candidates = process.extract(
        pasted,
        [c.form for c in claims],
        scorer=fuzz.token_set_ratio,
        score_cutoff=THRESHOLD,
        limit=None,
    )
    by_text: list[int] = []
    for index in sorted(i for _form, _score, i in candidates if i not in by_link):
        if len(by_text) >= MAX_SHOWN:
            break
        if _text_match(pasted, claims[index].form):
            by_text.append(index)
    found = sorted(by_link | set(by_text))[:MAX_SHOWN]  # newest first, as in_force orders
    return tuple(_refuted(db, claims[i], i in by_link, zone) for i in found)
