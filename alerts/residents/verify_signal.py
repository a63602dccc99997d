"""What residents reported about a number, account or link, as the lookup tells it.

Two answers beside "in a police warning": confirmed by police from reports (a report in
state confirmed, named by the unit that confirmed it), and "reported by N residents in M
communes in the last 30 days, not yet confirmed". The second appears only from
``REPORT_SIGNAL_MIN`` distinct reporters (never below 2: one report alone never marks a
number), so a number is not branded by whoever files against it, and nobody is named.

Reporters are told apart as filing caps them (``alerts.reports.filing``): by the keyed
digest of their sealed contact, the channel and address they can be reached on. Reports
without a contact (the portal's contact is optional) count as one reporter per commune,
since nothing tells them apart. Withdrawn and dismissed reports never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlite_utils

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.residents.links import destination_key
from alerts.security import vault
from alerts.store import report_signal as store

WINDOW = timedelta(days=30)
Keys = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Confirmed:
    """A unit that confirmed residents' reports naming the indicator."""

    unit: str
    reports: int
    last_at: str


@dataclass(frozen=True)
class Signal:
    """Open reports naming the indicator: distinct reporters and communes, last 30 days."""

    residents: int
    communes: int


def _reporter(config: Mapping, region_code: str, sealed: bytes | None) -> str:
    """Return who filed a report, as a digest: their contact's, else their commune's."""
    if sealed is not None:
        try:
            contact = vault.unseal(config, sealed)
        except vault.VaultError:
            contact = None
        if contact and contact.get("address"):
            channel = contact.get("channel", "")
            return destination_key(config, "report", channel, contact["address"])
    return f"commune:{region_code}"


def signal(db: sqlite_utils.Database, config: Mapping, keys: Keys) -> Signal | None:
    """Return the open reports' signal for an indicator (its (kind, key) readings), or None
    below the threshold."""
    since = to_text(utcnow() - WINDOW)
    rows = {row[0]: row for kind, key in keys for row in store.open_reports(db, kind, key, since)}
    reporters: dict[str, str] = {}
    for _id, region_code, sealed in rows.values():
        reporters.setdefault(_reporter(config, region_code, sealed), region_code)
    if len(reporters) < config["REPORT_SIGNAL_MIN"]:
        return None
    return Signal(len(reporters), len(set(reporters.values())))


def confirmed(db: sqlite_utils.Database, keys: Keys) -> tuple[Confirmed, ...]:
    """Return the units that confirmed reports naming an indicator, latest first."""
    found = {}
    for kind, key in keys:
        for unit, reports, last_at in store.confirmed_by(db, kind, key):
            found.setdefault(unit, Confirmed(unit, reports, last_at))
    return tuple(sorted(found.values(), key=lambda c: c.last_at, reverse=True))
