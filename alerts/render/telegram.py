"""Telegram: one message in HTML parse mode, or several when it passes 4,096 characters.

Only Telegram's own tags appear, and everything an officer typed is escaped by the template's
autoescape (``<``, ``>``, ``&`` and quotes, as numeric entities Telegram accepts). Telegram
counts the limit after entity parsing, in UTF-16 code units, so that is what is counted here.
A longer message is split between blocks (blank lines), else between lines, else between words;
each part is valid on its own: tags open at a split are closed and opened again in the next.
Parts after the first start with the marks and "(tiếp theo 2/3)", so a drill stays a drill.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

from alerts.errors import N_
from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.common import area_summary
from alerts.render.common import template
from alerts.render.common import title_prefix
from alerts.render.facts import facts
from alerts.text import clean_text

CHANNEL = "telegram"
MEDIA_TYPE = "text/html"
TEMPLATE = "telegram.html"
LIMIT = 4096
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"blockquote", "tg-spoiler", "span"}
)
CONTINUED = "<i>{marks}(tiếp theo {index}/{total})</i>\n"
_EMPTY = re.compile(r"<([a-z-]+)(?:\s[^>]*)?></\1>")


@dataclass(frozen=True)
class _Item:
    """One character of text (``text`` set) or one tag, with its markup as written."""

    raw: str
    text: str = ""
    tag: str = ""
    opening: bool = False


class _Items(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[_Item] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise ValueError(f"Telegram does not accept <{tag}>")
        self.items.append(_Item(self.get_starttag_text(), tag=tag, opening=True))

    def handle_endtag(self, tag):
        self.items.append(_Item(f"</{tag}>", tag=tag))

    def handle_data(self, data):
        self.items.extend(_Item(html.escape(ch, quote=False), ch) for ch in data)


def _items(markup: str) -> list[_Item]:
    parser = _Items()
    parser.feed(markup)
    parser.close()
    return parser.items


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_length(markup: str) -> int:
    """Return the length Telegram checks: UTF-16 code units of the text after parsing."""
    return sum(_units(item.text) for item in _items(markup))


def _stacks(items: list[_Item]) -> list[tuple[_Item, ...]]:
    """Return, for each position (and the end), the tags open just before it."""
    stacks, stack = [], ()
    for item in items:
        stacks.append(stack)
        if item.opening:
            stack = (*stack, item)
        elif item.tag:
            stack = stack[:-1]
    stacks.append(stack)
    return stacks


def _rank(items: list[_Item], stacks: list, j: int) -> int:
    """Return how good a split before item ``j`` is: 3 between blocks ... 0 mid-word."""
    before = items[j - 1].text
    if before == "\n" and j >= 2 and items[j - 2].text == "\n" and not stacks[j]:
        return 3
    if before == "\n":
        return 2
    if before == " ":
        return 1
    return 0 if not unicodedata.combining(items[j].text[:1] or "a") else -1


def _end(items: list[_Item], stacks: list, start: int, limit: int) -> int:
    """Return where the part beginning at ``start`` ends: the best split within ``limit``."""
    used, fits, sums = 0, start, {}
    while fits < len(items) and used + _units(items[fits].text) <= limit:
        used += _units(items[fits].text)
        fits += 1
        sums[fits] = used
    if fits == len(items):
        return fits
    if fits == start:
        return start + 1
    candidates = range(fits, start, -1)
    for rank in (3, 2, 1):
        for j in candidates:
            if sums[j] < limit // 2:
                break
            if _rank(items, stacks, j) == rank:
                return j
    return next((j for j in candidates if _rank(items, stacks, j) >= 0), fits)


def _part(items: list[_Item], stacks: list, start: int, end: int) -> str:
    body = items[start:end]
    while body and body[-1].text.isspace():
        body.pop()
    opened = "".join(item.raw for item in stacks[start])
    closed = "".join(f"</{item.tag}>" for item in reversed(stacks[end]))
    markup = opened + "".join(item.raw for item in body) + closed
    while _EMPTY.search(markup):
        markup = _EMPTY.sub("", markup)
    return markup


def split(markup: str, limit: int = LIMIT) -> list[str]:
    """Return the markup as parts of at most ``limit`` visible units, each valid on its own."""
    items = _items(markup)
    stacks = _stacks(items)
    parts, start = [], 0
    while True:
        while start < len(items) and items[start].text.isspace():
            start += 1
        if start >= len(items):
            return parts
        end = _end(items, stacks, start, limit)
        parts.append(_part(items, stacks, start, end))
        start = end


def _markup(message: Message, unsubscribe: str = "") -> str:
    content = message.content
    values = {
        "unsubscribe": unsubscribe,
        "w": facts(message),
        "description": clean_text(content.description),
        "instruction": clean_text(content.instruction),
        "reason": clean_text(message.cancel_reason),
        "area": area_summary(message),
    }
    return template(TEMPLATE).render(**values).strip()


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the Telegram message, split into several when longer than 4,096 characters."""
    markup = _markup(message, settings.unsubscribe_url)
    notes: list = []
    if visible_length(markup) <= LIMIT:
        texts = [markup]
    else:
        marks = html.escape(title_prefix(message), quote=False)
        reserve = visible_length(CONTINUED.format(marks=marks, index=99, total=99))
        texts = split(markup, LIMIT - reserve)
        total = len(texts)
        texts = [texts[0]] + [
            CONTINUED.format(marks=marks, index=i, total=total) + text
            for i, text in enumerate(texts[1:], start=2)
        ]
        notes.append(
            (N_("The Telegram message was split into %(count)s messages."), {"count": total})
        )
    names = ["text"] + [f"text_{i}" for i in range(2, len(texts) + 1)]
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts=dict(zip(names, texts, strict=True)),
        counts={
            "messages": len(texts),
            "characters": max(visible_length(text) for text in texts),
        },
        notes=tuple(notes),
    )
