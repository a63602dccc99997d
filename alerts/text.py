"""Unicode rules for text we store and search.

Vietnamese can arrive composed (NFC) or decomposed (NFD, e.g. from macOS); we store NFC so
equal words compare equal. Search folds diacritics away ("hoan kiem" finds "Hoàn Kiếm"),
which needs đ/Đ handled by hand because they are letters of their own, not d + a mark.
"""

from __future__ import annotations

import re
import unicodedata

# Invisible characters that can disguise text: bidi overrides and zero-width marks.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nfc(value: str) -> str:
    """Return the value in Unicode NFC, the form we store."""
    return unicodedata.normalize("NFC", value)


def clean_line(value: str) -> str:
    """Return a one-line field as stored: NFC, no control or invisible characters, trimmed."""
    value = nfc(value).translate(_INVISIBLE)
    value = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value)
    return " ".join(value.split())


def clean_text(value: str) -> str:
    """Return multi-line text as stored: NFC, no control characters, tidy line ends."""
    value = nfc(value).replace("\r\n", "\n").replace("\r", "\n")
    lines = [clean_line(line) for line in _CONTROL.sub("", value).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def fold(value: str) -> str:
    """Return a diacritics-free, lower-case form for search ("Đà Nẵng" -> "da nang")."""
    value = value.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())
