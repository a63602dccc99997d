"""How a pasted text is compared with what the channels sent (for ``alerts.residents.verify``).

Kept apart from the check itself because it is pure text work: no database, no warning.
Both sides are normalised first: NFC, invisible characters and HTML tags removed,
typography and case folded, whitespace collapsed, and diacritics folded for lines typed
without them (SMS goes out folded). Pasted text is then matched line by line (then sentence
by sentence): a line must start where a line or sentence of the original starts, so dropping
a leading "Không" does not pass; it may stop early (SMS shortening, truncated previews).
An altered text is shown as a word diff against the closest original.
"""

from __future__ import annotations

import difflib
import html
import re

from alerts.render import gsm
from alerts.text import nfc

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
# A link's scheme, defanged ("hxxps://") or not: links compare without it.
SCHEME = re.compile(r"(?i)\b(?:https?|hxxps?)://")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Where a pasted line may start inside the original: after one of these (or at the start).
_STARTS = set("\n.!?:;-([\"'")
_TOKENS = re.compile(r"\s+|\S+")


# --- text forms --------------------------------------------------------------------------------


def plain(markup: str) -> str:
    """Return the text a reader sees in our HTML: tags dropped (block tags end a line),
    entities decoded, lines trimmed."""
    text = _HIDDEN.sub("\n", markup)
    text = _TAG.sub(lambda m: "" if m[1].lower() in _INLINE_TAGS else "\n", text)
    return tidy(html.unescape(text))


def tidy(text: str) -> str:
    """Return the text as read: NFC, invisible characters dropped, spaces collapsed, no
    blank lines."""
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
    text = SCHEME.sub("", text.casefold())
    # Links to our own pages other than /a/<code> (e.g. an email's unsubscribe link) differ
    # per recipient and are never a scam: they compare equal.
    if host:
        text = re.sub(rf"\b{re.escape(host)}(?!/a/)(?:/\S*)?", f"{host}/", text)
    return tidy(text)


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
    lines = tidy(text).split("\n")
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


# --- differences -------------------------------------------------------------------------------


def _key(token: str, folded: bool) -> str:
    if token.isspace():
        return " "
    return _form(token, "", folded) if folded else token.translate(_TYPOGRAPHY).casefold()


def word_diff(original: str, pasted: str):
    """Return the word-level diff (``alerts.warnings.diff``'s approach) of the original and the
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


def closest(pasted: str, texts: list[tuple[str, str]]) -> tuple[str, str]:
    """Return the (channel, text) whose words are most like the pasted text's."""
    words = _form(pasted, "", folded=True).split()

    def score(item: tuple[str, str]) -> float:
        other = _form(item[1], "", folded=True).split()
        return difflib.SequenceMatcher(None, words, other, autojunk=False).ratio()

    return max(texts, key=score)
