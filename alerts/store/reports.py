"""Residents' reports to their police (``reports``, ``report_indicators``, ``report_images``):
filing, withdrawal and the retention purge. The unit's inbox reads them elsewhere
(``alerts.store.report_inbox``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from alerts.warnings.indicators import Indicator


@dataclass(frozen=True)
class Filing:
    """What a resident sent and how to answer them: the part of a report that filing writes
    and the inbox reads back unchanged."""

    text: str
    channel: str
    account_id: int | None
    contact_sealed: bytes | None
    contact_masked: str | None
    created_at: str


@dataclass(frozen=True)
class NewReport(Filing):
    """A report as filed: routed, its contact sealed, its purge date set."""

    code: str
    kind: str
    region_code: str
    unit_id: int
    purge_after: str


@dataclass(frozen=True)
class Ref:
    """What withdrawing needs of a report found by its code."""

    id: int
    code: str
    status: str


def code_taken(db: sqlite_utils.Database, code: str) -> bool:
    """Return whether a report already has this reference code."""
    return db.execute("SELECT 1 FROM reports WHERE code = ?", [code]).fetchone() is not None


def insert_report(db: sqlite_utils.Database, report: NewReport) -> int:
    """Store a new report (status new, ``origin_unit_id`` = ``unit_id``); return its id."""
    cursor = db.execute(
        "INSERT INTO reports (code, kind, region_code, unit_id, origin_unit_id, text, channel,"
        " account_id, contact_sealed, contact_masked, created_at, updated_at, purge_after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.code,
            report.kind,
            report.region_code,
            report.unit_id,
            report.unit_id,
            report.text,
            report.channel,
            report.account_id,
            report.contact_sealed,
            report.contact_masked,
            report.created_at,
            report.created_at,
            report.purge_after,
        ],
    )
    return cursor.lastrowid


def insert_indicators(
    db: sqlite_utils.Database, report_id: int, indicators: Iterable[Indicator]
) -> None:
    """Store the scammer's phones, accounts and links of a report (normalised, keyed)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO report_indicators (report_id, kind, value, key) VALUES (?, ?, ?, ?)",
        [(report_id, i.kind, i.value, i.key) for i in indicators],
    )


def insert_image(
    db: sqlite_utils.Database, report_id: int, mime: str, sealed: bytes, created_at: str
) -> None:
    """Store a report's screenshot, already cleaned and sealed."""
    db.execute(
        "INSERT INTO report_images (report_id, mime, sealed, created_at) VALUES (?, ?, ?, ?)",
        [report_id, mime, sealed, created_at],
    )


def find_by_code(db: sqlite_utils.Database, code: str) -> Ref | None:
    """Return the report with this reference code, or None."""
    row = db.execute("SELECT id, code, status FROM reports WHERE code = ?", [code]).fetchone()
    return Ref(*row) if row else None


def withdraw(db: sqlite_utils.Database, report_id: int, now: str) -> None:
    """Mark a report withdrawn and drop how to reach its reporter and their screenshot."""
    db.execute(
        "UPDATE reports SET status = 'withdrawn', contact_sealed = NULL, contact_masked = NULL,"
        " updated_at = ? WHERE id = ?",
        [now, report_id],
    )
    db.execute("DELETE FROM report_images WHERE report_id = ?", [report_id])


def purge_expired(db: sqlite_utils.Database, now: str) -> int:
    """Delete the reports past their ``purge_after`` that no warning came from, with their
    indicators and screenshots; return how many. Reports marked as duplicates of a purged
    one lose that link rather than block the purge."""
    expired = "SELECT id FROM reports WHERE purge_after <= ? AND warning_id IS NULL"
    db.execute(f"UPDATE reports SET duplicate_of = NULL WHERE duplicate_of IN ({expired})", [now])
    db.execute(f"DELETE FROM report_images WHERE report_id IN ({expired})", [now])
    db.execute(f"DELETE FROM report_indicators WHERE report_id IN ({expired})", [now])
    return db.execute(
        "DELETE FROM reports WHERE purge_after <= ? AND warning_id IS NULL", [now]
    ).rowcount
