"""Staff search over warnings: words without diacritics, region, unit, type, status, mode and
dates, always within the searcher's jurisdiction. The admin list and the API read the same
query parameters through ``parse``, so both refuse the same things the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from alerts.clock import to_text
from alerts.errors import Invalid
from alerts.errors import Refused
from alerts.models import Acting
from alerts.regions.jurisdiction import unit_covers
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import warning_lists as store
from alerts.store.warning_lists import Query
from alerts.text import fold
from alerts.warnings.content import MODES
from alerts.warnings.content import WARNING_TYPES
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

PARAMETERS = ("q", "region", "unit", "type", "status", "mode", "from", "to")
WORDS_MAX = 100
MAX_WORDS = 8


def _one_of(name: str, value: str, allowed) -> str | None:
    if value and value not in allowed:
        raise Refused("Choose one of: %(allowed)s.", name, allowed=", ".join(allowed))
    return value or None


def _statuses(value: str) -> tuple[Status, ...] | None:
    names = [v.strip() for v in value.split(",") if v.strip()]
    allowed = [s.value for s in Status]
    for name in names:
        _one_of("status", name, allowed)
    return tuple(Status(n) for n in names) or None


def _words(value: str) -> tuple[str, ...]:
    if len(value) > WORDS_MAX:
        raise Refused(
            "At most %(max)s characters (now %(count)s).", "q", max=WORDS_MAX, count=len(value)
        )
    return tuple(dict.fromkeys(fold(value).split()))[:MAX_WORDS]


def _regions(db: sqlite_utils.Database, code: str) -> tuple[str, ...]:
    """Return the region, those below it and those above it: what a warning for it targets."""
    if not code:
        return ()
    region = region_store.get_region(db, code)
    if region is None:
        raise Refused("Unknown region code: %(code)s", "region", code=code[:10])
    found = [region.code, *(r.code for r in region_store.child_regions(db, region.code))]
    parent = region.parent_code
    while parent:
        found.append(parent)
        above = region_store.get_region(db, parent)
        parent = above.parent_code if above else None
    return tuple(found)


def _unit_ids(db: sqlite_utils.Database, acting: Acting, code: str) -> tuple[int, ...] | None:
    """Return the ids of the units searched: the chosen one and below it, inside one's own."""
    unit = acting.unit
    if code:
        chosen = unit_store.get_unit_by_code(db, code.strip().lower())
        if chosen is None or not unit_covers(acting.unit, chosen):
            raise Refused("Choose a unit inside your jurisdiction.", "unit")
        unit = chosen
    ids = unit_store.unit_ids_in_scope(db, unit)
    return None if ids is None else tuple(ids)


def _day(name: str, value: str, zone: ZoneInfo, shift: int = 0) -> str | None:
    """Return the UTC start of a local day (``shift`` days later), as stored text."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Refused("Enter a date as yyyy-mm-dd.", name) from None
    return to_text(datetime.combine(day + timedelta(days=shift), time(), zone))


def parse(
    db: sqlite_utils.Database, acting: Acting, raw: Mapping[str, str], zone: ZoneInfo
) -> Query:
    """Return the query the parameters ask for; Invalid listing every bad one."""
    value = {name: (raw.get(name) or "").strip() for name in PARAMETERS}
    problems: list[Refused] = []

    def checked(check, *args):
        try:
            return check(*args)
        except Refused as error:
            problems.append(error)
            return None

    query = Query(
        unit_ids=checked(_unit_ids, db, acting, value["unit"]),
        words=checked(_words, value["q"]) or (),
        regions=checked(_regions, db, value["region"]) or (),
        warning_type=checked(_one_of, "type", value["type"], WARNING_TYPES),
        statuses=checked(_statuses, value["status"]),
        mode=checked(_one_of, "mode", value["mode"], MODES),
        since=checked(_day, "from", value["from"], zone),
        before=checked(_day, "to", value["to"], zone, 1),
    )
    if problems:
        raise Invalid(problems)
    return query


def search(
    db: sqlite_utils.Database, query: Query, *, limit: int, offset: int = 0
) -> tuple[list[Alert], int]:
    """Return a page of the matching revisions, newest change first, and how many match."""
    return store.search(db, query, limit=limit, offset=offset), store.count(db, query)
