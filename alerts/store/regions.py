"""Regions of the map, and the metadata table (map version and the like)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from alerts.models import Level
from alerts.models import Region
from alerts.store import like_pattern
from alerts.text import fold

_COLUMNS = "code, level, name, division_type, parent_code"


def _region(row: tuple) -> Region:
    code, level, name, division_type, parent_code = row
    return Region(code, Level(level), name, division_type, parent_code)


def upsert_regions(db: sqlite_utils.Database, regions: Iterable[Region]) -> None:
    """Insert or update every region (the map is reloaded when its version changes)."""
    db.conn.executemany(
        "INSERT INTO regions (code, level, name, name_folded, division_type, parent_code)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(code) DO UPDATE SET level = excluded.level, name = excluded.name,"
        " name_folded = excluded.name_folded, division_type = excluded.division_type,"
        " parent_code = excluded.parent_code",
        [
            (r.code, r.level.value, r.name, fold(r.name), r.division_type, r.parent_code)
            for r in regions
        ],
    )


def get_region(db: sqlite_utils.Database, code: str) -> Region | None:
    """Return the region with this code, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM regions WHERE code = ?", [code]).fetchone()
    return _region(row) if row else None


def child_regions(db: sqlite_utils.Database, code: str) -> list[Region]:
    """Return the regions directly below one, ordered by name."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM regions WHERE parent_code = ? ORDER BY name_folded", [code]
    ).fetchall()
    return [_region(r) for r in rows]


def search_regions(
    db: sqlite_utils.Database, query: str, *, within: str | None = None, limit: int = 20
) -> list[Region]:
    """Return regions whose name matches the query, ignoring diacritics and case.

    ``within`` limits the search to a province's communes (and the province itself).
    Names that start with the query come first, then the rest, each by name.
    """
    if not fold(query):
        return []
    pattern = like_pattern(query)
    sql = f"SELECT {_COLUMNS} FROM regions WHERE (name_folded LIKE ? ESCAPE '\\' OR code = ?)"
    params: list = [pattern, query.strip()]
    if within:
        sql += " AND (parent_code = ? OR code = ?)"
        params += [within, within]
    sql += " ORDER BY (name_folded LIKE ? ESCAPE '\\') DESC, level, name_folded LIMIT ?"
    params += [pattern[1:], limit]
    return [_region(r) for r in db.execute(sql, params).fetchall()]


def commune_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Return how many communes each province has, by province code."""
    rows = db.execute(
        "SELECT parent_code, count(*) FROM regions WHERE level = 'commune' GROUP BY parent_code"
    ).fetchall()
    return dict(rows)


def count_by_level(db: sqlite_utils.Database) -> dict[str, int]:
    """Return how many regions there are at each level."""
    rows = db.execute("SELECT level, count(*) FROM regions GROUP BY level").fetchall()
    return dict(rows)


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    """Return a metadata value, or None."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Set a metadata value."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
