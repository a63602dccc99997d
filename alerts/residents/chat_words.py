"""How a resident's chat message is read: folded (no diacritics, lower case, no
punctuation), so "Có", "co." and "CO" are one answer, and "/stop@canhbao_bot" is "/stop".

Shared by the subscription conversation (``alerts.residents.chat``) and the report one
(``alerts.reports.chat``), so both agree on what a command and a stop are.
"""

from __future__ import annotations

import re

from alerts.residents.subscriptions import is_stop_keyword
from alerts.text import fold

STOPS = frozenset({"/stop", "/huy"})


def words(text: str) -> str:
    """Return the message folded to plain words ("/" kept: Telegram's commands)."""
    return " ".join(re.sub(r"[^\w/ ]", " ", fold(text or "")).split())


def after(text: str, count: int) -> str:
    """Return the text after its first ``count`` words (the command), as written."""
    parts = (text or "").strip().split(None, count)
    return parts[count] if len(parts) > count else ""


def is_stop(text: str) -> bool:
    """Return whether the message asks to stop: ``/stop``, HUY, STOP, TU CHOI..."""
    return words(text).split(" ", 1)[0] in STOPS or is_stop_keyword(text)
