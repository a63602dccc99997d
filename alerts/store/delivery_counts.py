"""The counts a warning's page shows of its deliveries, read from the tables the
deliveries' triggers keep (m021): a few rows per revision, however many it reaches."""

from __future__ import annotations

import json

import sqlite_utils


def by_state(db: sqlite_utils.Database, warning_ids: list[int]) -> list[dict]:
    """Return delivery counts by message, channel, province and state, for the dashboard.

    "failed" are queued deliveries that failed at least once and wait for their retry.
    """
    rows = db.execute(
        "SELECT msg_type, channel, province, state, count FROM delivery_counts"
        " WHERE warning_id IN (SELECT value FROM json_each(?)) AND count > 0",
        [json.dumps(warning_ids)],
    ).fetchall()
    keys = ("msg_type", "channel", "province", "state", "count")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def by_receipt(
    db: sqlite_utils.Database, warning_ids: list[int]
) -> dict[tuple[int, str, str], int]:
    """Return {(warning id, channel, receipt): count} for the warnings' sent deliveries."""
    rows = db.execute(
        "SELECT warning_id, channel, receipt, count FROM receipt_counts"
        " WHERE warning_id IN (SELECT value FROM json_each(?)) AND count > 0",
        [json.dumps(warning_ids)],
    ).fetchall()
    return {(w, c, r): n for w, c, r, n in rows}
