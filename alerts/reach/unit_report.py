"""A unit's reach over the last weeks (the ministry's: every unit's): live warnings issued
by type, the median times from submission to approval and from approval to the first
delivery, the live audience by channel week by week and by region, and the phone
numbers, accounts and links residents looked up most. Counts only, and the same rows as
CSV for whoever wants them in a spreadsheet."""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.models import Unit
from alerts.store import audit as audit_store
from alerts.store import reach_counts
from alerts.store import reach_stats
from alerts.store import units as unit_store

WEEKS = 12
TOP_LOOKUPS = 20


@dataclass(frozen=True)
class Region:
    """A subscription region of the unit's area with its live audience now and at the start."""

    code: str
    name: str
    province: str
    now: int
    before: int


@dataclass(frozen=True)
class UnitReport:
    """``weeks`` are the Mondays the columns start on; ``issued[type]`` and
    ``subscribers[channel]`` hold one value per week (subscribers as at the week's end);
    medians are in minutes (None without data) with how many warnings they rest on."""

    unit: Unit
    weeks: list[date]
    issued: dict[str, list[int]]
    to_approval: float | None
    to_delivery: float | None
    timed: int
    subscribers: dict[str, list[int]]
    regions: list[Region]
    lookups: list[tuple[str, str, int]]

    @property
    def provinces(self) -> dict[str, int]:
        """The live audience now per province (the grid of the 34)."""
        totals: dict[str, int] = {}
        for region in self.regions:
            totals[region.province] = totals.get(region.province, 0) + region.now
        return totals


def _mondays(today: date) -> list[date]:
    this_week = today - timedelta(days=today.weekday())
    return [this_week - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def _week(weeks: list[date], day: str) -> int | None:
    """Return the column of a day ("YYYY-MM-DD"), or None before the first week."""
    index = (date.fromisoformat(day) - weeks[0]).days // 7
    return index if index >= 0 else None


def _minutes(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (from_text(end) - from_text(start)).total_seconds() / 60


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def report(db: sqlite_utils.Database, unit: Unit, now: datetime | None = None) -> UnitReport:
    """Return the unit's report for the ``WEEKS`` weeks up to ``now``."""
    weeks = _mondays((now or utcnow()).date())
    since = to_text(datetime.combine(weeks[0], datetime.min.time(), (now or utcnow()).tzinfo))
    scope = unit_store.unit_ids_in_scope(db, unit)
    issued: dict[str, list[int]] = {}
    for day, warning_type, count in reach_stats.issued(db, scope, since):
        issued.setdefault(warning_type, [0] * WEEKS)[_week(weeks, day)] += count
    times = reach_stats.workflow_times(db, scope, since)
    return UnitReport(
        unit,
        weeks,
        dict(sorted(issued.items())),
        _median([_minutes(submitted, approved) for submitted, approved, _sent in times]),
        _median([_minutes(approved, sent) for _submitted, approved, sent in times]),
        len(times),
        _audience(db, unit.region_code, weeks),
        [Region(*row) for row in reach_stats.subscribers_by_region(db, unit.region_code, since)],
        reach_counts.top_lookups(db, scope, weeks[0].isoformat(), TOP_LOOKUPS),
    )


def _audience(db, region_code: str, weeks: list[date]) -> dict[str, list[int]]:
    """The live audience per channel at the end of each week: everyone who joined before,
    less everyone who left."""
    found: dict[str, list[int]] = {}
    for channel, day, joined, left in reach_stats.subscriber_changes(db, region_code):
        series = found.setdefault(channel, [0] * WEEKS)
        column = _week(weeks, day)
        for i in range(0 if column is None else min(column, WEEKS), WEEKS):
            series[i] += joined - left
    return dict(sorted(found.items()))


def csv_text(found: UnitReport) -> str:
    """The report as CSV rows ``section, item, week, value``: one line per number shown."""
    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow(["section", "item", "week", "value"])
    weeks = [w.isoformat() for w in found.weeks]
    for section, table in (("issued", found.issued), ("subscribers", found.subscribers)):
        for item, values in table.items():
            pairs = zip(weeks, values, strict=True)
            rows.writerows([section, item, week, value] for week, value in pairs)
    for name, value in (
        ("to_approval_minutes", found.to_approval),
        ("to_delivery_minutes", found.to_delivery),
    ):
        rows.writerow(["median", name, "", "" if value is None else value])
    for region in found.regions:
        rows.writerow(["region", region.code, weeks[0], region.before])
        rows.writerow(["region", region.code, "now", region.now])
    for kind, value, count in found.lookups:
        rows.writerow([f"lookup_{kind}", _safe_cell(value), "", count])
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """A looked-up value a spreadsheet must not run as a formula (=, +, -, @ first)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def record_export(db: sqlite_utils.Database, who: audit.Actor, unit: Unit) -> None:
    """Audit a CSV export: counts only leave, but who took which unit's is on record."""
    with write(db):
        audit_store.append(db, audit.make_entry(who, "reach.export", f"unit:{unit.code}"))
