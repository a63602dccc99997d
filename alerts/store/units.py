"""Police units, each bound to one region and to its parent unit."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from alerts.models import Level
from alerts.models import Unit
from alerts.store import like_pattern
from alerts.text import fold

_COLUMNS = "id, code, name, level, region_code, parent_id"


def _unit(row: tuple) -> Unit:
    unit_id, code, name, level, region_code, parent_id = row
    return Unit(unit_id, code, name, Level(level), region_code, parent_id)


def upsert_units(
    db: sqlite_utils.Database, units: Iterable[tuple[str, str, Level, str, str | None]]
) -> None:
    """Insert or update units given as (code, name, level, region code, parent code).

    Parents must come before their children in the iterable.
    """
    for code, name, level, region_code, parent_code in units:
        db.execute(
            "INSERT INTO units (code, name, name_folded, level, region_code, parent_id)"
            " VALUES (?, ?, ?, ?, ?, (SELECT id FROM units WHERE code = ?))"
            " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
            " name_folded = excluded.name_folded, level = excluded.level,"
            " region_code = excluded.region_code, parent_id = excluded.parent_id",
            [code, name, fold(name), level.value, region_code, parent_code],
        )


def get_unit(db: sqlite_utils.Database, unit_id: int) -> Unit | None:
    """Return the unit with this id, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM units WHERE id = ?", [unit_id]).fetchone()
    return _unit(row) if row else None


def get_unit_by_code(db: sqlite_utils.Database, code: str) -> Unit | None:
    """Return the unit with this code ("bca", "ca-01", "ca-00070"), or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM units WHERE code = ?", [code]).fetchone()
    return _unit(row) if row else None


def child_units(
    db: sqlite_utils.Database, unit_id: int, *, query: str = "", limit: int = 100, offset: int = 0
) -> list[Unit]:
    """Return units directly below one, filtered by a diacritics-free name query."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM units WHERE parent_id = ? AND name_folded LIKE ? ESCAPE '\\'"
        " ORDER BY name_folded LIMIT ? OFFSET ?",
        [unit_id, like_pattern(query), limit, offset],
    ).fetchall()
    return [_unit(r) for r in rows]


def count_child_units(db: sqlite_utils.Database, unit_id: int, *, query: str = "") -> int:
    """Return how many units lie directly below one (matching the query)."""
    return db.execute(
        "SELECT count(*) FROM units WHERE parent_id = ? AND name_folded LIKE ? ESCAPE '\\'",
        [unit_id, like_pattern(query)],
    ).fetchone()[0]


def count_units(db: sqlite_utils.Database) -> int:
    """Return how many units exist."""
    return db.execute("SELECT count(*) FROM units").fetchone()[0]


def units_in_scope(db: sqlite_utils.Database, unit: Unit) -> list[Unit] | None:
    """Return the units ``unit`` oversees: itself and those below it (None: every unit)."""
    if unit.level == Level.NATION:
        return None
    return [unit, *child_units(db, unit.id, limit=10_000)]


def unit_ids_in_scope(db: sqlite_utils.Database, unit: Unit) -> list[int] | None:
    """Return the ids of ``units_in_scope`` (None: every unit)."""
    units = units_in_scope(db, unit)
    return None if units is None else [u.id for u in units]


def all_units(db: sqlite_utils.Database) -> list[Unit]:
    """Return every unit (the ministry's view), by code."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM units ORDER BY code").fetchall()
    return [_unit(r) for r in rows]
