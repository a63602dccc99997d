"""Which commune a resident means when they type it in a chat or an SMS.

Residents write "DK 00070", "hoan kiem", "Phường Hoàn Kiếm" or "phuong hoan kiem" (an SMS
keyboard has no diacritics): the Zalo conversation and the SMS keyword (issue 15) need the
same answer, so it is decided here once. A code or a name that names exactly one commune
is an answer; several candidates are returned for the resident to choose from, never guessed.
"""

from __future__ import annotations

import re

import sqlite_utils

from alerts.models import Level
from alerts.models import Region
from alerts.store import regions as region_store
from alerts.text import fold

CANDIDATES = 5  # communes offered back when the text names several
_KINDS = re.compile(r"^(phuong|xa|dac khu|thi tran|p\.|x\.)\s*")


def communes_named(db: sqlite_utils.Database, text: str, within: str | None = None) -> list[Region]:
    """Return the commune the text names (a list of one), the candidates when it names
    several (at most CANDIDATES), or [] when it names none. ``within`` is a province code
    that keeps the search to that province (the unit's own, for a provincial OA)."""
    words = fold(text)[:80]
    if not words:
        return []
    if re.fullmatch(r"\d{1,5}", words):
        region = region_store.get_region(db, f"{int(words):05d}")
        found = [region] if region and region.level == Level.COMMUNE else []
        return [r for r in found if within is None or r.parent_code == within]
    bare = _KINDS.sub("", words)
    if not bare:
        return []
    found = [
        r
        for r in region_store.search_regions(db, bare, within=within, limit=50)
        if r.level == Level.COMMUNE
    ]
    exact = [r for r in found if _KINDS.sub("", fold(r.name)) == bare]
    return exact[:CANDIDATES] if exact else found[:CANDIDATES]
