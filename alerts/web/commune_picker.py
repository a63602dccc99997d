"""The portal's commune picker without JavaScript: the places chosen (kept as checked boxes
from one submit to the next) and the matches of a search (unchecked boxes to add).

``static/subscribe.js`` does the same live from ``/regions.json`` when it can; both show a
commune with its province beside it, since many communes share a name ("Xã Tân Phú").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import request

from alerts.db import get_db
from alerts.models import Level
from alerts.models import Region
from alerts.residents import portal
from alerts.residents.addresses import MAX_REGIONS
from alerts.web.portal import REGION_COOKIE

MATCHES = 12  # matches listed at a time: enough to scroll with a thumb
SHOWN = 2 * MAX_REGIONS  # chosen places redrawn at most (a form may post any number)


@dataclass(frozen=True)
class Place:
    """A commune or province as the picker shows it."""

    code: str
    name: str
    province: str | None  # a commune's province; None for a province itself


def _place(region: Region, provinces: dict[str, str]) -> Place:
    province = None
    if region.level == Level.COMMUNE and region.parent_code:
        if region.parent_code not in provinces:
            parent = portal.find_region(get_db(), region.parent_code)
            provinces[region.parent_code] = parent.name if parent else ""
        province = provinces[region.parent_code]
    return Place(region.code, region.name, province)


def places(codes: Iterable[str]) -> list[Place]:
    """Return the chosen places that exist (a commune or a province), in the order chosen;
    anything else is dropped (the subscription refuses it with its reason)."""
    provinces: dict[str, str] = {}
    found = []
    for code in list(dict.fromkeys(c for c in codes if c))[:SHOWN]:
        region = portal.rememberable(get_db(), code[:8])
        if region is not None:
            found.append(_place(region, provinces))
    return found


def matches(query: str, chosen: Iterable[str]) -> list[Place]:
    """Return the communes and provinces whose name matches (diacritics optional), without
    those already chosen."""
    taken = set(chosen)
    provinces: dict[str, str] = {}
    found = portal.search(get_db(), query[: portal.QUERY_MAX])
    return [_place(r, provinces) for r in found if r.level != Level.NATION and r.code not in taken][
        :MATCHES
    ]


def prefilled() -> list[str]:
    """Return the place to start from: ``?region=`` (the page the resident came from),
    else the commune the portal remembers, else nothing."""
    for code in (request.args.get("region"), request.cookies.get(REGION_COOKIE)):
        region = portal.rememberable(get_db(), (code or "")[:8])
        if region is not None:
            return [region.code]
    return []
