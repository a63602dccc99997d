"""The portal's version and what changed: rows written by the triggers of migration m020.

Read on every public request, so each read is one lookup on the primary key.
"""

from __future__ import annotations

import sqlite_utils


def version(db: sqlite_utils.Database) -> int:
    """Return the number of the last change residents can see (0 before any)."""
    rows = db.execute("SELECT seq FROM portal_changes ORDER BY seq DESC LIMIT 1").fetchall()
    return rows[0][0] if rows else 0  # every row fetched: no read transaction left open


def changed_since(db: sqlite_utils.Database, seq: int) -> list[tuple[int, str | None]]:
    """Return (seq, warning code) of each change after ``seq``, oldest first (the code is
    None for a revision never published, approved then expired)."""
    return db.execute(
        "SELECT c.seq, w.code FROM portal_changes c JOIN warnings w ON w.id = c.warning_id"
        " WHERE c.seq > ? ORDER BY c.seq",
        [seq],
    ).fetchall()


def series_codes(db: sqlite_utils.Database, code: str) -> list[str]:
    """Return the codes of every published revision in the series of the warning ``code``."""
    rows = db.execute(
        "SELECT w.code FROM warnings w JOIN warnings me ON me.series_id = w.series_id"
        " WHERE me.code = ? AND w.code IS NOT NULL ORDER BY w.revision",
        [code],
    ).fetchall()
    return [r[0] for r in rows]


def region_codes(db: sqlite_utils.Database, code: str) -> list[str]:
    """Return the regions the warning ``code`` targets and every region above them."""
    rows = db.execute(
        "WITH RECURSIVE up(code) AS ("
        " SELECT wr.region_code FROM warning_regions wr JOIN warnings w ON w.id = wr.warning_id"
        " WHERE w.code = ?"
        " UNION SELECT r.parent_code FROM regions r JOIN up ON r.code = up.code"
        " WHERE r.parent_code IS NOT NULL)"
        " SELECT code FROM up ORDER BY code",
        [code],
    ).fetchall()
    return [r[0] for r in rows]
