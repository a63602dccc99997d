"""What residents reported about one phone number, account or link, for /verify's lookup.

Only counts and places leave here, never a report's text or who sent it; the sealed contact
goes to the caller only so that it can tell reporters apart (``alerts.residents.verify_signal``).
"""

from __future__ import annotations

import sqlite_utils

# Reports still waiting for the police's word; withdrawn and dismissed ones never count.
OPEN = ("new", "in_review", "forwarded", "duplicate")
MAX_ROWS = 2000


def open_reports(
    db: sqlite_utils.Database, kind: str, key: str, since: str
) -> list[tuple[int, str, bytes | None]]:
    """Return (report id, commune code, sealed contact) of the open reports filed since
    ``since`` (UTC text) naming an indicator by its lookup key, each report once."""
    marks = ", ".join("?" * len(OPEN))
    return db.execute(
        "SELECT DISTINCT r.id, r.region_code, r.contact_sealed FROM report_indicators i"
        " JOIN reports r ON r.id = i.report_id"
        f" WHERE i.kind = ? AND i.key = ? AND r.status IN ({marks}) AND r.created_at >= ?"
        " ORDER BY r.id DESC LIMIT ?",
        [kind, key, *OPEN, since, MAX_ROWS],
    ).fetchall()


def confirmed_by(db: sqlite_utils.Database, kind: str, key: str) -> list[tuple[str, int, str]]:
    """Return (unit name, confirmed reports, last confirmation UTC text) of each unit that
    confirmed a report naming an indicator, latest first."""
    return db.execute(
        "SELECT u.name, count(DISTINCT r.id), max(r.updated_at) FROM report_indicators i"
        " JOIN reports r ON r.id = i.report_id JOIN units u ON u.id = r.unit_id"
        " WHERE i.kind = ? AND i.key = ? AND r.status = 'confirmed'"
        " GROUP BY u.id ORDER BY max(r.updated_at) DESC",
        [kind, key],
    ).fetchall()
