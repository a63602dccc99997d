"""Who a warning will reach, shown to the approver before approval: residents per channel
and per province or commune, and the unit accounts that will post it.

It asks the outbox's own rules (which accounts, whether Zalo broadcasts) and the same
count the approval's enqueue uses (``alerts.store.fanouts.reach``), so the number shown
is the number queued. A resident subscribed twice inside the targets (a commune and its
province) is counted twice here and in the fan-out's expected count, and gets one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import sqlite_utils

from alerts.store import fanouts as fanout_store
from alerts.store import reach_stats
from alerts.warnings import outbox
from alerts.warnings.models import Alert


@dataclass(frozen=True)
class Poster:
    """A unit account that posts the warning to its followers, members or newsroom.
    ``followers`` is None: none of the providers' APIs we call reports a count."""

    channel: str
    account: str
    followers: int | None = None


@dataclass(frozen=True)
class Audience:
    """Residents by channel, by channel and province, by channel and region (the
    subscription's own: commune or province), the regions' names, the posting accounts, and
    the channels chosen that have no usable account (nothing is sent on them)."""

    residents: dict[str, int]
    by_province: dict[str, dict[str, int]]
    by_region: dict[str, list[tuple[str, int]]]
    names: dict[str, str] = field(default_factory=dict)
    posters: list[Poster] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every resident's message, all channels together."""
        return sum(self.residents.values())


def audience(db: sqlite_utils.Database, alert: Alert) -> Audience:
    """Return who the revision reaches if approved now (the audience a drill or test reaches
    is the test audience's, exactly as the outbox chooses)."""
    accounts = outbox._accounts(db, alert)
    residents, by_region, posters, unreachable = {}, {}, [], []
    for channel in alert.content.channels:
        usable = accounts.get(channel, [])
        if not usable:
            unreachable.append(channel)
            continue
        if channel in outbox.BROADCAST_CHANNELS and outbox._reaches_followers(alert, channel):
            posters.extend(_posters(channel, usable))
        if channel in outbox.RESIDENT_CHANNELS:
            regions = fanout_store.reach(
                db, channel, not alert.content.is_live, list(alert.content.regions)
            )
            by_region[channel] = regions
            residents[channel] = sum(count for _code, count in regions)
    codes = sorted({code for regions in by_region.values() for code, _count in regions})
    regions = reach_stats.provinces_of(db, codes)
    names = {code: name for code, (_province, name) in regions.items()}
    by_province = _by_province({c: p for c, (p, _name) in regions.items()}, by_region)
    return Audience(residents, by_province, by_region, names, posters, unreachable)


def _posters(channel: str, usable: list) -> list[Poster]:
    """The accounts ``outbox._broadcast`` posts with: every newsroom webhook, else the
    nearest unit's one account, unless it is set not to broadcast."""
    chosen = usable if channel == "webhook" else usable[:1]
    return [Poster(channel, a.name) for a in chosen if a.settings.get("broadcast", "1") != "0"]


def _by_province(
    province: dict[str, str], by_region: dict[str, list[tuple[str, int]]]
) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for channel, regions in by_region.items():
        for code, count in regions:
            row = table.setdefault(province.get(code, code), {})
            row[channel] = row.get(channel, 0) + count
    return dict(sorted(table.items()))


def as_json(found: Audience) -> dict:
    """The API's shape: counts by channel, by province and channel, by region, the posters."""
    return {
        "total": found.total,
        "residents": found.residents,
        "by_province": found.by_province,
        "by_region": {ch: dict(regions) for ch, regions in found.by_region.items()},
        "posters": [
            {"channel": p.channel, "account": p.account, "followers": p.followers}
            for p in found.posters
        ],
        "unreachable": found.unreachable,
    }
