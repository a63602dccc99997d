"""Warning templates: built-ins (``unit_id`` NULL, keyed by slug) and units' own templates.

Rows come back as dicts with ``fields`` decoded from JSON; ``alerts.warnings.warning_templates``
turns them into ``Template`` records and owns every rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping

import sqlite_utils

from alerts.clock import now_text

_COLUMNS = "id, slug, unit_id, name, fields, active"
_UPDATABLE = {"name", "unit_id", "fields", "active"}


def _encode(fields: Mapping[str, object]) -> str:
    return json.dumps(dict(fields), ensure_ascii=False, sort_keys=True)


def _row(row: tuple) -> dict:
    template_id, slug, unit_id, name, fields, active = row
    return {
        "id": template_id,
        "slug": slug,
        "unit_id": unit_id,
        "name": name,
        "fields": json.loads(fields),
        "active": bool(active),
    }


def get_template(db: sqlite_utils.Database, template_id: int) -> dict | None:
    """Return the template with this id, or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM warning_templates WHERE id = ?", [template_id]
    ).fetchone()
    return _row(row) if row else None


def builtin_templates(db: sqlite_utils.Database, *, active_only: bool = False) -> list[dict]:
    """Return the built-in templates in the order they were first loaded."""
    where = " AND active = 1" if active_only else ""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warning_templates WHERE unit_id IS NULL{where} ORDER BY id"
    ).fetchall()
    return [_row(r) for r in rows]


def unit_templates(
    db: sqlite_utils.Database, unit_ids: Iterable[int] | None, *, active_only: bool = False
) -> list[dict]:
    """Return the templates of some units (None: of every unit), by name."""
    sql = f"SELECT {_COLUMNS} FROM warning_templates WHERE unit_id IS NOT NULL"
    params: list = []
    if unit_ids is not None:
        params = list(unit_ids)
        sql += f" AND unit_id IN ({', '.join('?' * len(params)) or 'NULL'})"
    if active_only:
        sql += " AND active = 1"
    rows = db.execute(sql + " ORDER BY fold(name), id", params).fetchall()
    return [_row(r) for r in rows]


def insert_template(
    db: sqlite_utils.Database,
    *,
    slug: str | None,
    unit_id: int | None,
    name: str,
    fields: Mapping[str, object],
    created_by: int | None,
) -> int:
    """Insert an active template and return its id."""
    cursor = db.execute(
        "INSERT INTO warning_templates (slug, unit_id, name, fields, active, created_by,"
        " updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
        [slug, unit_id, name, _encode(fields), created_by, now_text()],
    )
    return cursor.lastrowid


def update_template(db: sqlite_utils.Database, template_id: int, **columns: object) -> None:
    """Update columns of a template (name, unit_id, fields, active) and stamp the time."""
    unknown = set(columns) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    if "fields" in columns:
        columns["fields"] = _encode(columns["fields"])
    if "active" in columns:
        columns["active"] = int(bool(columns["active"]))
    assignments = ", ".join(f"{name} = ?" for name in columns)
    db.execute(
        f"UPDATE warning_templates SET {assignments}, updated_at = ? WHERE id = ?",
        [*columns.values(), now_text(), template_id],
    )
