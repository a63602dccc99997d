"""The refutations /verify compares pasted texts with: published, in force, live, intact."""

from __future__ import annotations

import sqlite_utils

REFUTATION_TYPE = "fake_news"


def in_force(db: sqlite_utils.Database, now: str) -> list[tuple[int, str]]:
    """Return (id, content hash) of every refutation in force at ``now`` (stored UTC text):
    the newest published revision of a live warning, not expired, cancelled or marked with
    an integrity failure. The hash lets callers cache what they derive from the content;
    ``warning_type`` is the content's, indexed (``m017_refutations``)."""
    return db.execute(
        "SELECT id, content_hash FROM warnings"
        " WHERE status = 'published' AND code IS NOT NULL AND published_at IS NOT NULL"
        " AND mode = 'Actual' AND superseded_by IS NULL AND integrity_failure IS NULL"
        " AND expires_at > ? AND warning_type = ?"
        " ORDER BY published_at DESC, id DESC",
        [now, REFUTATION_TYPE],
    ).fetchall()
