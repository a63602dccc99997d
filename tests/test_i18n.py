"""The Vietnamese catalogue is complete, well-formed and compiled.

Vietnamese is the default language, so an untranslated message shows English to every user,
a lost placeholder breaks the page at run time, and a stale .mo (the file the app actually
reads) hides translations that exist only in the .po.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from alerts.errors import EXTRACT_KEYWORDS
from alerts.security.passwords import MAX_LENGTH
from alerts.security.passwords import password_problem

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "alerts" / "translations" / "vi" / "LC_MESSAGES"
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    **{k.split(":")[0]: (int(k.split(":")[1]),) if ":" in k else None for k in EXTRACT_KEYWORDS},
}
# A %-sequence: %(name)d style placeholders, %% and any stray % that Python would misread.
PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]?")


def _load_po():
    with (MESSAGES / "messages.po").open("rb") as f:
        return read_po(f, locale="vi")


CATALOG = _load_po()


def _texts(value) -> tuple[str, ...]:
    """A msgid or msgstr as a tuple of strings (plural messages have several)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _extracted_ids() -> list[str]:
    """Every msgid in the sources, extracted as pybabel does with config/babel.cfg."""
    with (ROOT / "config" / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)
    return sorted({message for _file, _line, message, _comments, _context in found}, key=str)


def _assert_translated(msgid) -> None:
    message = CATALOG.get(msgid)
    assert message is not None, f"missing from messages.po: {msgid!r}"
    assert not message.fuzzy, f"fuzzy: {msgid!r}"
    strings = _texts(message.string)
    assert all(strings), f"not translated: {msgid!r}"
    assert all(unicodedata.is_normalized("NFC", s) for s in strings), f"not NFC: {msgid!r}"


@pytest.mark.parametrize("msgid", _extracted_ids(), ids=str)
def test_every_source_message_is_translated(msgid):
    """Every _()/_l() string in Python and templates has a Vietnamese translation."""
    _assert_translated(msgid)


def test_domain_refusals_and_password_rules_are_extracted():
    """Messages the domain raises in English reach the catalogue through the extractor."""
    ids = set(_extracted_ids())
    assert "You drafted or edited this warning: another approver must review it." in ids
    assert "Only a published warning can be updated." in ids  # workflow.NOT_NOW, through N_
    rules = {
        password_problem("x"),
        password_problem("x" * (MAX_LENGTH + 1)),
        password_problem("aaaaaaaaaaaa", "aaa"),
    }
    assert rules == {
        "Use at least 12 characters.",
        "Use at most 128 characters.",
        "This password is too easy to guess.",
    }
    assert rules <= ids


def test_translations_keep_placeholders():
    """A translation must use the same %(...)s placeholders, else formatting fails at run time."""
    for message in CATALOG:
        if not message.id or not message.string:
            continue
        expected = sorted({p for text in _texts(message.id) for p in PERCENT.findall(text)})
        for text in _texts(message.string):
            found = sorted(set(PERCENT.findall(text)))
            assert found == expected, f"{message.id!r}: {found} != {expected}"


def test_mo_matches_po():
    """The committed .mo, which the app reads, is compiled from the current .po."""
    compiled = BytesIO()
    write_mo(compiled, CATALOG)
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)
    with (MESSAGES / "messages.mo").open("rb") as f:
        committed = gettext.GNUTranslations(f)
    assert committed._catalog == expected._catalog, "messages.mo is stale: run pybabel compile"
