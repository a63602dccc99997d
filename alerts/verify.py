"""Residents' checks: is this message a genuine police warning, and is this number in one?

``check`` takes whatever a resident pasted (a code, a short link, or a whole message as it
arrived by SMS, Zalo, Telegram, Facebook or email), finds the verification code in it and
compares the text with what every channel sent for that code. The answer is one of three:
genuine (with the signed original), altered (the code is real but the text differs: the
differences and any phone number, link or amount that is not in the original) or not an
official warning. ``lookup`` tells whether a phone number, bank account or link appears in
a published warning. Nothing here writes: no database rows, no audit entries.

Pasted text is compared line by line (then sentence by sentence) with the renderings, after
normalising both: NFC, invisible characters and HTML tags removed, typography and case
folded, whitespace collapsed, and diacritics folded for lines typed without them (SMS goes
out folded). A line must start where a line or sentence of the original starts, so dropping
a leading "Không" does not pass; it may stop early (SMS shortening, truncated previews).
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlite_utils

from alerts import indicators
from alerts import portal
from alerts import publication
from alerts import verification
from alerts.clock import utcnow
from alerts.errors import N_
from alerts.errors import Refused
from alerts.models import Alert
from alerts.models import Status
from alerts.render import RenderSettings
from alerts.render import gsm
from alerts.render import registry
from alerts.render.common import defang
from alerts.store import portal as portal_store
from alerts.store import units as unit_store
from alerts.store import warnings as store
from alerts.text import nfc

MAX_TEXT = 5000
MAX_LOOKUP = indicators.MAX_LENGTH
MAX_HITS = 50
MAX_MENTIONS = 10
GENUINE, ALTERED, NOT_OFFICIAL = "genuine", "altered", "not_official"
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
_INLINE_TAGS = {"a", "b", "code", "del", "em", "i", "ins", "s", "small", "span", "strong", "time"}
_INLINE_TAGS |= {"strike", "tg-spoiler", "u"}
_HIDDEN = re.compile(r"(?is)<(head|style|script)\b.*?</\1\s*>|<!--.*?-->")
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>")
_TYPOGRAPHY = str.maketrans(
    {
        **dict.fromkeys("“”„‟«»″", '"'),
        **dict.fromkeys("‘’‚‛′`´", "'"),
        **dict.fromkeys("‐‑‒–—―−•·●▪", "-"),
        "…": "...",
    }
)
_SCHEME = re.compile(r"(?i)\b(?:https?|hxxps?)://")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Where a pasted line may start inside the original: after one of these (or at the start).
_STARTS = set("\n.!?:;-([\"'")
_TOKENS = re.compile(r"\s+|\S+")
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
    """The answer to a pasted text: ``verdict`` (GENUINE, ALTERED, NOT_OFFICIAL) and why
    (``reason``, an English msgid with ``params``). For a real code: the warning's standing,
    the signature checks and the closest original (``channel``, ``original``); for an altered
    text the word diff of both sides (("same"|"added", text) pasted, ("same"|"removed", text)
    original) and the phone numbers, links and numbers not in the original (``changed``).
    For a text without a known code, ``mentions`` lists warnings naming its numbers or links."""

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


@dataclass(frozen=True)
class Lookup:
    """The answer to an indicator lookup: what was searched (``searched``: kind, value) and
    the published warnings that list it, newest first (none found does not mean safe)."""

    query: str
    searched: tuple[tuple[str, str], ...]
    hits: tuple[Hit, ...]


# --- text forms --------------------------------------------------------------------------------


def plain(markup: str) -> str:
    """Return the text a reader sees in our HTML: tags dropped (block tags end a line),
    entities decoded, lines trimmed."""
    text = _HIDDEN.sub("\n", markup)
    text = _TAG.sub(lambda m: "" if m[1].lower() in _INLINE_TAGS else "\n", text)
    return _tidy(html.unescape(text))


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in gsm.visible(nfc(text)).split("\n"))
    return "\n".join(line for line in lines if line)


def _has_marks(text: str) -> bool:
    """Return whether the text carries Vietnamese diacritics (or other accents)."""
    return gsm.strip_diacritics(text) != text


def _form(text: str, host: str, folded: bool) -> str:
    """Return the comparison form: typography, case and links unified; folded like an SMS."""
    text = gsm.visible(nfc(text)).translate(_TYPOGRAPHY)
    if folded:
        text = gsm.to_gsm7(text, extension=False)
    text = _SCHEME.sub("", text.casefold())
    # Links to our own pages other than /a/<code> (e.g. an email's unsubscribe link) differ
    # per recipient and are never a scam: they compare equal.
    if host:
        text = re.sub(rf"\b{re.escape(host)}(?!/a/)(?:/\S*)?", f"{host}/", text)
    return _tidy(text)


# --- codes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Codes:
    """The codes in a text, in the order to try them; those it states outright (the whole
    text, a /a/<code> link or a "Mã xác thực:" label); a stated code outside our alphabet."""

    found: tuple[str, ...]
    stated: tuple[str, ...]
    misspelt: str | None
    link_host: str | None  # the host of the link, when the text is only a link


def _codes(text: str) -> _Codes:
    """Return the codes in a text: the whole text, /a/<code> links, labels, then tokens."""
    folded = gsm.strip_diacritics(text).lower()
    raw_stated = [text] if _CODE_SHAPE.fullmatch(text) else []
    raw_stated += [m[2] for m in _LINK_CODE.finditer(text)] + _LABEL_CODE.findall(folded)
    stated = [verification.normalise(raw) for raw in raw_stated]
    misspelt = next((r.upper() for r, c in zip(raw_stated, stated, strict=True) if not c), None)
    tokens = [verification.normalise(raw) for raw in _BARE_CODE.findall(text)[:20]]
    found = tuple(dict.fromkeys(c for c in stated + tokens if c))
    match = _LINK_CODE.match(text) if len(text.split()) == 1 else None
    link_host = match[1].lower() if match else None
    return _Codes(found, tuple(c for c in stated if c), misspelt, link_host)


def standing(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> Standing:
    """Return who issued and approved a published revision and where it stands now (as the
    portal page says it: ``alerts.portal.state``)."""
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


# --- renderings --------------------------------------------------------------------------------


def renderings(db: sqlite_utils.Database, alert: Alert, config: Mapping) -> list[tuple[str, str]]:
    """Return (channel, plain text) for every readable part every channel sent for a
    revision: its Alert or Update, and its Cancel once cancelled."""
    public_url = config["PUBLIC_URL"].rstrip("/")
    settings = RenderSettings(
        sms_max_segments=publication.render_settings(config).sms_max_segments,
        unsubscribe_url=f"{public_url}/",
    )
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
                    found.append((channel, plain(text) if is_html else _tidy(text)))
    return found


# --- matching --------------------------------------------------------------------------------


def _found_in(piece: str, candidate: str, open_end: bool) -> bool:
    """Return whether ``piece`` occurs in ``candidate`` starting where a line or sentence
    starts, ending at a word's end (or anywhere when ``open_end``)."""
    tokens = piece.split()
    if not tokens:
        return True
    pattern = r"\s+".join(map(re.escape, tokens))
    if re.match(r"\w", tokens[0]):
        pattern = r"(?<!\w)" + pattern
    if not open_end and re.search(r"\w$", tokens[-1]):
        pattern += r"(?!\w)"
    for match in re.finditer(f"(?={pattern})", candidate):
        before = candidate[: match.start()].rstrip(" ")
        if not before or before[-1] in _STARTS:
            return True
    return False


def _piece_found(piece: str, candidates: list[str], last: bool) -> bool:
    if not re.search(r"\w", piece):
        return True  # punctuation, separators, emoji: nothing to compare
    open_end = last
    if piece.endswith("..."):
        piece, open_end = piece[:-3].rstrip(), True
    return any(_found_in(piece, c, False) for c in candidates) or (
        open_end and any(_found_in(piece, c, True) for c in candidates)
    )


def unmatched_lines(text: str, texts: list[str], host: str) -> list[str]:
    """Return the lines of ``text`` (as pasted) that no rendering contains."""
    exact = [_form(t, host, folded=False) for t in texts]
    folded = [_form(t, host, folded=True) for t in texts]
    lines = _tidy(text).split("\n")
    known: dict[tuple[str, bool], bool] = {}  # a line repeated is looked for once
    missing = []
    for index, line in enumerate(lines):
        marks = _has_marks(line)
        form, last = _form(line, host, folded=not marks), index == len(lines) - 1
        if (form, last) not in known:
            known[form, last] = _line_found(form, exact if marks else folded, last)
        if not known[form, last]:
            missing.append(line)
    return missing


def _line_found(form: str, candidates: list[str], last: bool) -> bool:
    """Return whether a line is in a rendering, whole or sentence by sentence."""
    if _piece_found(form, candidates, last):
        return True
    sentences = _SENTENCE.split(form)
    return len(sentences) > 1 and all(
        _piece_found(s, candidates, last and i == len(sentences) - 1)
        for i, s in enumerate(sentences)
    )


def _key(token: str, folded: bool) -> str:
    if token.isspace():
        return " "
    return _form(token, "", folded) if folded else token.translate(_TYPOGRAPHY).casefold()


def word_diff(original: str, pasted: str):
    """Return the word-level diff (``alerts.diff``'s approach) of the original and the
    pasted text: (original segments "same"/"removed", pasted segments "same"/"added").
    Words are compared without diacritics when the pasted text has none (an SMS)."""
    folded = not _has_marks(pasted)
    a, b = _TOKENS.findall(original), _TOKENS.findall(pasted)
    keys_a, keys_b = [_key(t, folded) for t in a], [_key(t, folded) for t in b]
    left, right = [], []
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if i1 < i2:
            left.append(("same" if op == "equal" else "removed", "".join(a[i1:i2])))
        if j1 < j2:
            right.append(("same" if op == "equal" else "added", "".join(b[j1:j2])))
    return _coalesce(left), _coalesce(right)


def _coalesce(segments: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Return segments with changed words separated only by spaces joined into one
    ("0987 654 321" reads as one change, not three)."""
    joined: list[tuple[str, str]] = []
    for index, (kind, text) in enumerate(segments):
        if kind == "same" and text.isspace() and 0 < index < len(segments) - 1:
            before, after = segments[index - 1][0], segments[index + 1][0]
            kind = before if before == after else kind
        if joined and joined[-1][0] == kind:
            joined[-1] = (kind, joined[-1][1] + text)
        else:
            joined.append((kind, text))
    return tuple(joined)


def _closest(pasted: str, texts: list[tuple[str, str]]) -> tuple[str, str]:
    words = _form(pasted, "", folded=True).split()

    def score(item: tuple[str, str]) -> float:
        other = _form(item[1], "", folded=True).split()
        return difflib.SequenceMatcher(None, words, other, autojunk=False).ratio()

    return max(texts, key=score)


# --- phone numbers, links and amounts ------------------------------------------------------


def _link_value(raw: str) -> str | None:
    try:
        value = indicators.parse_link(raw.rstrip(_TRAILING)).value
    except Refused:
        return None
    return _SCHEME.sub("", value).lower()


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


# --- the check -------------------------------------------------------------------------------


def _not_official(db, text: str, reason: str, **params: str) -> Verification:
    return Verification(NOT_OFFICIAL, reason, params, mentions=_mentions(db, text))


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
    text = _tidy(text)
    if not text:
        raise Refused(N_("Paste a message, a code or a link."), "text")
    codes = _codes(text)
    alert = next(filter(None, (portal_store.by_code(db, c) for c in codes.found)), None)
    if alert is not None:
        return _compare(db, alert, text, codes, config)
    if codes.stated:
        reason = N_("No official warning has the code %(code)s.")
        return _not_official(db, text, reason, code=verification.display(codes.stated[0]))
    if codes.misspelt:
        reason = N_("%(code)s is not a valid code: codes never contain 0, 1, O or I.")
        return _not_official(db, text, reason, code=codes.misspelt)
    reason = N_(
        "This text carries no verification code. Every official warning has one,"
        " like K7M4-XQ2P, and a link to this site."
    )
    return _not_official(db, text, reason)


def _compare(db, alert: Alert, text: str, codes: _Codes, config: Mapping) -> Verification:
    host = urlsplit(config["PUBLIC_URL"]).netloc.lower()
    texts = renderings(db, alert, config)
    found = {
        "warning": standing(db, alert, config),
        "signatures": signature_checks(db, alert, config),
    }
    if _CODE_SHAPE.fullmatch(text) or codes.link_host is not None:
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
    channel, original = _closest(text, texts)
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


def _keys(value: str) -> list[tuple[str, str, str]]:
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


def _hits(db: sqlite_utils.Database, kind: str, key: str) -> list[Hit]:
    """Return the live warnings that list an indicator, newest first: published, expired or
    cancelled after publication, never drafts, drills or revisions replaced by an update."""
    rows = db.execute(
        "SELECT DISTINCT w.id, i.value FROM warning_indicators i"
        " JOIN warnings w ON w.id = i.warning_id"
        " WHERE i.kind = ? AND i.key = ? AND w.status IN ('published', 'expired', 'cancelled')"
        " AND w.published_at IS NOT NULL AND w.code IS NOT NULL AND w.mode = 'Actual'"
        " AND w.superseded_by IS NULL ORDER BY w.published_at DESC, w.id DESC LIMIT ?",
        [kind, key, MAX_HITS],
    ).fetchall()
    now = utcnow()
    found = []
    for alert_id, value in rows:
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


def lookup(db: sqlite_utils.Database, value: str) -> Lookup:
    """Return the published warnings listing a phone number, bank account or link.

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
    keys = _keys(value)
    if not keys:
        raise Refused(N_("This is not a phone number, an account number or a web link."), "value")
    hits: dict[str, Hit] = {}
    for kind, key, _shown in keys:
        for hit in _hits(db, kind, key):
            hits.setdefault(hit.code, hit)
    ordered = sorted(hits.values(), key=lambda h: h.published_at, reverse=True)
    searched = tuple(dict.fromkeys((kind, shown) for kind, _key, shown in keys))
    return Lookup(value, searched, tuple(ordered))


def _mentions(db: sqlite_utils.Database, text: str) -> tuple[Hit, ...]:
    """Return the warnings that list a phone number, link or account named in a text."""
    hits: dict[str, Hit] = {}
    for kind, raw, value in mentioned(text)[:MAX_MENTIONS]:
        if kind == "phone":
            keys = [("phone", value)]
        elif kind == "link":
            keys = [(k, key) for k, key, _shown in _keys(raw) if k == "link"]
        else:
            keys = [("account", value)] if 6 <= len(value) <= 20 else []
        for key_kind, key in keys:
            for hit in _hits(db, key_kind, key):
                hits.setdefault(hit.code, hit)
    return tuple(sorted(hits.values(), key=lambda h: h.published_at, reverse=True))
