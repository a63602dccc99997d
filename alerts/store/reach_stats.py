"""What the reach pages count from the records that already exist: deliveries and their
receipts per minute, warnings issued, the workflow's times, subscribers over time. Every
query groups in SQLite: no resident's row leaves this module."""

from __future__ import annotations

import json

import sqlite_utils

# Revisions that reached the public: approved and published once, whatever came after.
_ISSUED = "w.approved_at IS NOT NULL AND w.status IN ('published', 'cancelled', 'expired')"


def _scope(unit_ids: list[int] | None) -> list:
    """Parameters of ``(? IS NULL OR w.unit_id IN (...))``: None is every unit."""
    ids = None if unit_ids is None else json.dumps(unit_ids)
    return [ids, ids]


_IN_SCOPE = "(? IS NULL OR w.unit_id IN (SELECT value FROM json_each(?)))"


def delivery_minutes(
    db: sqlite_utils.Database, warning_ids: list[int]
) -> list[tuple[str, str, str, int]]:
    """Return ``(channel, event, minute, count)``: deliveries sent (``sent_at``) and the
    providers' receipts (delivered, read, failed at ``receipt_at``), per minute (UTC)."""
    return db.execute(
        "SELECT channel, 'sent', substr(sent_at, 1, 16) m, COUNT(*) FROM deliveries"
        " WHERE warning_id IN (SELECT value FROM json_each(:ids)) AND sent_at IS NOT NULL"
        " AND msg_type != 'Cancel' GROUP BY channel, m"
        " UNION ALL SELECT channel, receipt, substr(receipt_at, 1, 16) m, COUNT(*)"
        " FROM deliveries WHERE warning_id IN (SELECT value FROM json_each(:ids))"
        " AND receipt_at IS NOT NULL AND msg_type != 'Cancel' GROUP BY channel, receipt, m"
        " ORDER BY 3, 1, 2",
        {"ids": json.dumps(warning_ids)},
    ).fetchall()


def issued(
    db: sqlite_utils.Database, unit_ids: list[int] | None, since: str
) -> list[tuple[str, str, int]]:
    """Return ``(day, warning_type, count)`` of the live warnings issued since ``since``
    (first revisions only: an update is not a new warning)."""
    return db.execute(
        "SELECT substr(w.approved_at, 1, 10) d, w.warning_type, COUNT(*) FROM warnings w"
        f" WHERE {_ISSUED} AND w.mode = 'Actual' AND w.msg_type = 'Alert'"
        f" AND w.approved_at >= ? AND {_IN_SCOPE} GROUP BY d, w.warning_type ORDER BY d",
        [since, *_scope(unit_ids)],
    ).fetchall()


def workflow_times(
    db: sqlite_utils.Database, unit_ids: list[int] | None, since: str
) -> list[tuple[str | None, str, str | None]]:
    """Return ``(submitted_at, approved_at, first_sent_at)`` of each live revision approved
    since ``since``; the first delivery is the first one sent, whatever its channel."""
    return db.execute(
        "SELECT w.submitted_at, w.approved_at, (SELECT MIN(sent_at) FROM deliveries d"
        " WHERE d.warning_id = w.id AND d.msg_type != 'Cancel') FROM warnings w"
        f" WHERE {_ISSUED} AND w.mode = 'Actual' AND w.approved_at >= ? AND {_IN_SCOPE}"
        " ORDER BY w.approved_at",
        [since, *_scope(unit_ids)],
    ).fetchall()


def _in_region(region_code: str) -> str:
    """Subscriptions inside a region: everyone ("vn"), a province and its communes, a commune
    (the SQL reads ``:region``)."""
    if region_code == "vn":
        return "1"
    return "(s.region_code = :region OR r.parent_code = :region)"


def subscriber_changes(
    db: sqlite_utils.Database, region_code: str
) -> list[tuple[str, str, int, int]]:
    """Return ``(channel, day, joined, left)`` of the live audience inside the region: a
    subscription joins when confirmed and leaves when it ended (unsubscribed, disabled)."""
    base = (
        "FROM subscriptions s JOIN regions r ON r.code = s.region_code"
        f" WHERE s.test_audience = 0 AND s.confirmed_at IS NOT NULL AND {_in_region(region_code)}"
    )
    return db.execute(
        "SELECT channel, d, SUM(joined), SUM(gone) FROM ("
        f" SELECT s.channel, substr(s.confirmed_at, 1, 10) d, 1 joined, 0 gone {base}"
        f" UNION ALL SELECT s.channel, substr(s.ended_at, 1, 10) d, 0, 1 {base}"
        " AND s.ended_at IS NOT NULL) GROUP BY channel, d ORDER BY d, channel",
        {"region": region_code},
    ).fetchall()


def subscribers_by_region(
    db: sqlite_utils.Database, region_code: str, since: str
) -> list[tuple[str, str, str, int, int]]:
    """Return ``(region_code, name, province_code, active, active_at_since)`` of the live
    audience inside the region, per subscription region (commune or province)."""
    return db.execute(
        "SELECT s.region_code, r.name,"
        " CASE r.level WHEN 'commune' THEN r.parent_code ELSE r.code END,"
        " SUM(s.status = 'active'),"
        " SUM(s.confirmed_at < :since AND (s.ended_at IS NULL OR s.ended_at >= :since))"
        " FROM subscriptions s JOIN regions r ON r.code = s.region_code"
        " WHERE s.test_audience = 0 AND s.confirmed_at IS NOT NULL"
        f" AND {_in_region(region_code)} GROUP BY s.region_code ORDER BY s.region_code",
        {"since": since, "region": region_code},
    ).fetchall()


def provinces_of(db: sqlite_utils.Database, codes: list[str]) -> dict[str, tuple[str, str]]:
    """Return each region's ``(province_code, name)`` (a province is its own province;
    "vn" stays "vn"), the names for display."""
    rows = db.execute(
        "SELECT code, CASE level WHEN 'commune' THEN parent_code ELSE code END, name"
        " FROM regions WHERE code IN (SELECT value FROM json_each(:codes)) OR code IN"
        " (SELECT parent_code FROM regions WHERE code IN (SELECT value FROM json_each(:codes)))",
        {"codes": json.dumps(codes)},
    )
    return {code: (province, name) for code, province, name in rows.fetchall()}
