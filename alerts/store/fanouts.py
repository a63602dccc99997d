"""Fan-outs still being queued (m016): who a warning reaches, region by region, and what
is left to queue. Every change runs inside the caller's ``write`` transaction."""

from __future__ import annotations

import json
from typing import NamedTuple

import sqlite_utils


class Fanout(NamedTuple):
    """What remains to queue of one (revision, channel): ``regions_left`` in order, each
    with the subscribers it had when the warning was approved."""

    id: int
    warning_id: int
    msg_type: str
    channel: str
    account_id: int
    priority: int
    test_audience: bool
    expires_at: str
    regions_left: list[tuple[str, int]]


def reach(
    db: sqlite_utils.Database, channel: str, test_audience: bool, targets: list[str]
) -> list[tuple[str, int]]:
    """Return ``(region_code, subscribers)`` for every region whose active subscribers of
    the channel and audience a warning to ``targets`` reaches, in code order: a targeted
    region's own, its communes' (a province's), its province's (a commune's); "vn" is
    everyone. One pass over the subscriptions' region index, counting only."""
    marks = ", ".join("?" * len(targets))
    where, params = (
        ("1", [])
        if "vn" in targets
        else (
            f"(s.region_code IN ({marks}) OR r.parent_code IN ({marks})"
            f" OR s.region_code IN (SELECT parent_code FROM regions WHERE code IN ({marks})))",
            targets * 3,
        )
    )
    return db.execute(
        "SELECT s.region_code, COUNT(*) FROM subscriptions s"
        " JOIN regions r ON r.code = s.region_code"
        f" WHERE s.channel = ? AND s.status = 'active' AND s.test_audience = ? AND {where}"
        " GROUP BY s.region_code ORDER BY s.region_code",
        [channel, int(test_audience), *params],
    ).fetchall()


def open_fanout(
    db: sqlite_utils.Database,
    fanout: Fanout,
    *,
    expected: int,
    queued: int,
    now: str,
) -> int:
    """Record what is left to queue of a revision's channel; return its id."""
    cursor = db.execute(
        "INSERT INTO fanouts (warning_id, msg_type, channel, account_id, priority,"
        " test_audience, expires_at, regions_left, expected, queued, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            fanout.warning_id,
            fanout.msg_type,
            fanout.channel,
            fanout.account_id,
            fanout.priority,
            int(fanout.test_audience),
            fanout.expires_at,
            json.dumps(fanout.regions_left),
            expected,
            queued,
            now,
            now,
        ],
    )
    return cursor.lastrowid


def open_ids(db: sqlite_utils.Database) -> list[int]:
    """Return the fan-outs still being queued, most urgent first."""
    rows = db.execute("SELECT id FROM fanouts WHERE status = 'open' ORDER BY priority DESC, id")
    return [row[0] for row in rows]


def get_open(db: sqlite_utils.Database, fanout_id: int) -> Fanout | None:
    """Return a fan-out if it is still being queued."""
    row = db.execute(
        "SELECT id, warning_id, msg_type, channel, account_id, priority, test_audience,"
        " expires_at, regions_left FROM fanouts WHERE id = ? AND status = 'open'",
        [fanout_id],
    ).fetchone()
    if row is None:
        return None
    return Fanout(*row[:6], bool(row[6]), row[7], [tuple(r) for r in json.loads(row[8])])


def advance(
    db: sqlite_utils.Database, fanout_id: int, left: list[tuple[str, int]], added: int, now: str
) -> None:
    """Record that a chunk was queued: ``left`` remains (none: the fan-out is done)."""
    db.execute(
        "UPDATE fanouts SET regions_left = ?, queued = queued + ?, updated_at = ?,"
        " status = CASE WHEN ? THEN status ELSE 'done' END WHERE id = ? AND status = 'open'",
        [json.dumps(left), added, now, int(bool(left)), fanout_id],
    )


def stop(db: sqlite_utils.Database, warning_ids: list[int], now: str) -> int:
    """Queue nothing more for these revisions (cancelled, superseded, expired)."""
    cursor = db.execute(
        "UPDATE fanouts SET status = 'stopped', updated_at = ? WHERE status = 'open'"
        " AND warning_id IN (SELECT value FROM json_each(?))",
        [now, json.dumps(warning_ids)],
    )
    return cursor.rowcount


def stop_superseded(db: sqlite_utils.Database, series_id: int, warning_id: int, now: str) -> None:
    """Queue nothing more for the series' other revisions (an Update replaces them)."""
    db.execute(
        "UPDATE fanouts SET status = 'stopped', updated_at = ? WHERE status = 'open'"
        " AND warning_id IN (SELECT id FROM warnings WHERE series_id = ? AND id != ?)",
        [now, series_id, warning_id],
    )


def waiting(db: sqlite_utils.Database, warning_ids: list[int]) -> dict[str, int]:
    """Return, by channel, how many subscribers the revisions' open fan-outs have yet to
    queue (as counted at approval)."""
    rows = db.execute(
        "SELECT f.channel, SUM(r.value ->> '$[1]') FROM fanouts f, json_each(f.regions_left) r"
        " WHERE f.status = 'open' AND f.warning_id IN (SELECT value FROM json_each(?))"
        " GROUP BY f.channel",
        [json.dumps(warning_ids)],
    ).fetchall()
    return {channel: int(count or 0) for channel, count in rows}
