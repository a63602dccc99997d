"""What changed between two versions of a warning, word by word, for the reviewer.

The approver must see exactly what is new since they (or a colleague) last reviewed it, or
since the revision it updates; a word-level diff keeps Vietnamese sentences readable.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from alerts.warnings.content import Content

# Fields in the order a reviewer reads them.
FIELDS = (
    "headline",
    "description",
    "instruction",
    "claim",
    "claim_links",
    "mode",
    "category",
    "warning_type",
    "severity",
    "urgency",
    "certainty",
    "regions",
    "channels",
    "publish_at",
    "expires_at",
    "link",
    "image",
    "phones",
    "accounts",
    "links",
    "headline_en",
    "description_en",
    "instruction_en",
)
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Change:
    """One changed field: its name and the segments ("equal"/"insert"/"delete", text)."""

    field: str
    segments: tuple[tuple[str, str], ...]


def field_text(content: Content, name: str) -> str:
    """Return a field as text (lists joined one per line, missing values empty; a
    refutation's claim and links as ``claim`` and ``claim_links``)."""
    if name in ("claim", "claim_links"):
        found = content.refutation
        if found is None:
            return ""
        return found.claim if name == "claim" else "\n".join(found.links)
    if name in ("phones", "accounts", "links"):
        return "\n".join(getattr(content.indicators, name))
    value = getattr(content, name)
    if isinstance(value, tuple):
        return " ".join(value)
    return value or ""


def _segments(old: str, new: str) -> tuple[tuple[str, str], ...]:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    segments = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("equal", "delete", "replace") and i1 < i2:
            segments.append(("equal" if op == "equal" else "delete", "".join(a[i1:i2])))
        if op in ("insert", "replace") and j1 < j2:
            segments.append(("insert", "".join(b[j1:j2])))
    return tuple(segments)


def changes(old: Content, new: Content) -> list[Change]:
    """Return the fields that differ between two versions, with their word-level diff."""
    found = []
    for name in FIELDS:
        before, after = field_text(old, name), field_text(new, name)
        if before != after:
            found.append(Change(name, _segments(before, after)))
    return found
