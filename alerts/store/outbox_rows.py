"""What both outboxes (``deliveries`` and ``notices``) do alike: claiming rows for this
worker, and putting back those whose attempt never started. One statement for a whole
batch: the worker's store thread gives up the GIL once, not once per row. Each finds its
rows by their ids ("+status" keeps SQLite from walking every queued row's index entry
instead: a province's million).

A delivery counts an attempt when it starts (``deliveries.mark_started``: the evidence
says which attempts reached the wire); a notice, whose history is only its counters,
when it is claimed."""

from __future__ import annotations

import json
from typing import Literal

import sqlite_utils

Table = Literal["deliveries", "notices"]


def claim(db: sqlite_utils.Database, table: Table, ids: list[int], lease_until: str) -> set[int]:
    """Mark queued rows as being sent by this worker until ``lease_until``; return the ids
    claimed (a row cancelled or expired since it was chosen is not)."""
    counted = "attempts + 1" if _checked(table) == "notices" else "attempts"
    if not ids:
        return set()
    rows = db.execute(
        f"UPDATE {table} SET status = 'sending', attempts = {counted}, lease_expires_at = ?,"
        " started_at = NULL WHERE id IN (SELECT value FROM json_each(?)) AND +status = 'queued'"
        " RETURNING id",
        [lease_until, json.dumps(ids)],
    ).fetchall()
    return {r[0] for r in rows}


def unclaim(db: sqlite_utils.Database, table: Table, ids: list[int]) -> None:
    """Put back in the queue claimed rows whose attempt never started (the worker stopped
    before their turn): nothing was sent, so no possible duplicate."""
    counted = "attempts - 1" if _checked(table) == "notices" else "attempts"
    db.execute(
        f"UPDATE {table} SET status = 'queued', attempts = {counted}, lease_expires_at = NULL,"
        " started_at = NULL WHERE +status = 'sending' AND started_at IS NULL"
        " AND id IN (SELECT value FROM json_each(?))",
        [json.dumps(ids)],
    )


def _checked(table: str) -> str:
    if table not in ("deliveries", "notices"):
        raise ValueError(f"not an outbox: {table!r}")
    return table
