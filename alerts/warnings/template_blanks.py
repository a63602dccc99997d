"""Template blanks: the ones the system fills in itself, and the ones that still block sending.

A template marks what an officer must write with square brackets ("[số điện thoại]"). Some of
those the system already knows (the issuing unit's name, its region), so they are filled in when
a draft starts from the template. Only the blanks of the templates offered to the unit block
submission: other bracketed text ("[Số tài khoản]" quoted in the officer's own words, "site[.]com")
is the officer's and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from alerts.models import Region
from alerts.models import Unit
from alerts.warnings.warning_templates import placeholders

# A blank the system knows, with the words around it that the value already carries
# ("Công an [tên đơn vị]" becomes the unit's full name, "Công an phường Hoàn Kiếm").
_UNIT = re.compile(r"(?:Công an )?\[(?:tên đơn vị|unit name)\](?: police)?", re.IGNORECASE)
_REGION = re.compile(r"\[(?:địa bàn|area)\]", re.IGNORECASE)


def fill_known(fields: Mapping[str, object], unit: Unit, region: Region | None) -> dict:
    """Return a template's fields with the unit's name and region written into their blanks."""
    filled = dict(fields)
    for name, value in fields.items():
        if isinstance(value, str):
            value = _UNIT.sub(lambda _m: unit.name, value)
            if region is not None:
                value = _REGION.sub(lambda _m: region.name, value)
            filled[name] = value
    return filled


def blanks_left(text_fields: Mapping[str, object], template_fields: list[Mapping]) -> list[str]:
    """Return the bracketed texts of ``text_fields`` that are blanks of one of the templates."""
    blanks = {p.casefold() for fields in template_fields for p in placeholders(fields)}
    return [p for p in placeholders(text_fields) if p.casefold() in blanks]
