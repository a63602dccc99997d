"""The GSM 03.38 alphabet: turning Vietnamese into plain GSM-7 text, and counting segments.

Any character outside GSM-7 switches a whole SMS to UCS-2 (70 characters instead of 160), and
Vietnamese diacritics are outside it, so SMS goes out folded: "Cảnh báo lừa đảo" becomes
"Canh bao lua dao" (đ/Đ by hand: they are letters of their own, not d + a mark). Characters of
the extension table (``€ [ ] { } \\ ^ ~ |``) take two septets each.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€")
GSM7 = "GSM-7"
UCS2 = "UCS-2"
# (single message, per segment when concatenated): the 6-byte UDH costs 7 septets or 3 units.
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}
# Typography officers paste from Word or the web, written the way an SMS can carry it.
_TYPOGRAPHY = {
    **dict.fromkeys("“”„‟«»″", '"'),
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    **dict.fromkeys("•·●▪", "-"),
    "…": "...",
    "₫": "d",
    "×": "x",
}
_TYPOGRAPHY_TABLE = str.maketrans(_TYPOGRAPHY)
# Extension characters written with basic ones, for text that should avoid them (they cost
# two septets, and some carriers refuse [ ] { } \ in brandname SMS).
_PLAIN = {
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "\\": "/",
    "|": "/",
    "~": "-",
    "^": "",
    "€": "EUR",
}


@dataclass(frozen=True)
class Count:
    """How an SMS text is sent: its encoding, its length in that encoding, and its segments."""

    encoding: str
    characters: int
    segments: int


def strip_diacritics(text: str) -> str:
    """Return text without Vietnamese diacritics, case kept ("Đà Nẵng" -> "Da Nang")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    )


def visible(text: str) -> str:
    """Return text without control, bidi and zero-width characters; line ends become "\\n"."""
    text = text.replace("\r\n", "\n")
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\n\r" or category in ("Zl", "Zp"):
            kept.append("\n")
        elif ch == "\t" or category == "Zs":
            kept.append(" ")
        elif not category.startswith("C"):
            kept.append(ch)
    return "".join(kept)


def to_gsm7(text: str, *, extension: bool = True) -> str:
    """Return text as pure GSM-7: diacritics folded, typography replaced, the rest dropped.

    With ``extension=False`` the extension characters are written with basic ones too.
    """
    text = visible(text).translate(_TYPOGRAPHY_TABLE)
    # NFKD also spells out compatibility forms: full-width letters, ligatures, "…".
    text = strip_diacritics(unicodedata.normalize("NFKD", text))
    out = []
    for ch in text:
        if ch in GSM7_BASIC and ch != "\r":
            out.append(ch)
        elif ch in GSM7_EXTENSION:
            out.append(ch if extension else _PLAIN[ch])
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(lines).strip("\n")


def is_gsm7(text: str) -> bool:
    """Return whether every character can be sent in GSM-7 (basic or extension table)."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def utf16_units(text: str) -> int:
    """Return the UCS-2/UTF-16 length: characters beyond the BMP (most emoji) count two."""
    return len(text.encode("utf-16-le")) // 2


def _segments(sizes: list[int], single: int, per_segment: int) -> int:
    """Return the segments for characters of these sizes; none is split between segments."""
    if sum(sizes) <= single:
        return 1 if sizes else 0
    segments, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            segments, used = segments + 1, 0
        used += size
    return segments


def count(text: str) -> Count:
    """Return the encoding, length and number of segments an SMS of this text takes."""
    if is_gsm7(text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        encoding = GSM7
    else:
        sizes = [utf16_units(ch) for ch in text]
        encoding = UCS2
    return Count(encoding, sum(sizes), _segments(sizes, *LIMITS[encoding]))


def capacity(segments: int, encoding: str = GSM7) -> int:
    """Return how many characters (septets or UTF-16 units) fit in so many segments."""
    single, per_segment = LIMITS[encoding]
    return single if segments <= 1 else per_segment * segments
