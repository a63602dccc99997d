"""How far a published warning went, minute by minute: deliveries sent and the providers'
receipts (delivered, read, failed) by channel, portal views of its page and of its CAP
document, and /verify checks of its code. A long history is bucketed wider (5 minutes,
15, an hour...) so a chart keeps at most ``MAX_BUCKETS`` columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts.store import delivery_counts
from alerts.store import reach_counts
from alerts.store import reach_stats
from alerts.warnings.models import Alert

EVENTS = ("sent", "delivered", "read", "failed")
VIEWS = ("page", "cap", "verify")
MAX_BUCKETS = 120
STEPS = (1, 5, 15, 60, 180, 360, 1440)  # minutes per bucket


@dataclass(frozen=True)
class Timeline:
    """``starts`` are the buckets' first minutes (UTC, "YYYY-MM-DDTHH:MM"), ``step`` their
    width in minutes; ``deliveries[channel][event]`` and ``views[kind]`` hold one count per
    bucket; ``totals`` sums each event over channels and each view kind."""

    starts: list[str]
    step: int
    deliveries: dict[str, dict[str, list[int]]]
    views: dict[str, list[int]]
    totals: dict[str, int]

    @property
    def by_event(self) -> dict[str, list[int]]:
        """Each event's counts per bucket, all channels together."""
        return {
            e: [sum(s[e][i] for s in self.deliveries.values()) for i in range(len(self.starts))]
            for e in EVENTS
        }


def _minute(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def timeline(db: sqlite_utils.Database, alert: Alert) -> Timeline:
    """Return the revision's timeline from its first event to its last."""
    sent = reach_stats.delivery_minutes(db, [alert.id])
    seen = reach_counts.views(db, [alert.id])
    minutes = sorted({m for *_rest, m, _n in sent} | {m for _k, m, _n in seen})
    if not minutes:
        return Timeline([], 1, {}, {}, dict.fromkeys(EVENTS + VIEWS, 0))
    first, last = _minute(minutes[0]), _minute(minutes[-1])
    span = int((last - first).total_seconds() // 60) + 1
    step = next((s for s in STEPS if span <= s * MAX_BUCKETS), STEPS[-1])
    count = (span - 1) // step + 1
    starts = [
        (first + timedelta(minutes=i * step)).strftime("%Y-%m-%dT%H:%M") for i in range(count)
    ]

    def bucket(minute: str) -> int:
        return int((_minute(minute) - first).total_seconds() // 60) // step

    deliveries: dict[str, dict[str, list[int]]] = {}
    for channel, event, minute, n in sent:
        series = deliveries.setdefault(channel, {e: [0] * count for e in EVENTS})
        series[event][bucket(minute)] += n
    views = {kind: [0] * count for kind in VIEWS}
    for kind, minute, n in seen:
        views[kind][bucket(minute)] += n
    totals = {e: sum(sum(s[e]) for s in deliveries.values()) for e in EVENTS}
    totals.update({kind: sum(views[kind]) for kind in VIEWS})
    return Timeline(starts, step, dict(sorted(deliveries.items())), views, totals)


def totals(db: sqlite_utils.Database, alert: Alert) -> dict[str, int]:
    """The timeline's totals without its minutes, from the counts the deliveries' triggers
    keep (m021) and the view counters: what the warning page shows on every visit, where
    grouping a national warning's half million rows by minute took over half a second. The
    receipts counted are those of all its messages (a Cancel's too)."""
    found = dict.fromkeys(EVENTS + VIEWS, 0)
    for row in delivery_counts.by_state(db, [alert.id]):
        if row["state"] == "sent" and row["msg_type"] != "Cancel":
            found["sent"] += row["count"]
    for (_warning, _channel, receipt), count in delivery_counts.by_receipt(db, [alert.id]).items():
        if receipt in found:
            found[receipt] += count
    for kind, _minute, count in reach_counts.views(db, [alert.id]):
        found[kind] += count
    return found
