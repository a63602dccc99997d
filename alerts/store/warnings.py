"""Warning revisions, their targets, indicators, editors and content snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlite_utils

from alerts.warnings.content import Content
from alerts.warnings.content import content_from_dict
from alerts.warnings.indicators import PARSERS
from alerts.warnings.models import Alert
from alerts.warnings.models import Status

_COLUMNS = (
    "id, series_id, revision, msg_type, references_id, unit_id, status, content,"
    " content_hash, created_by, created_at, updated_by, updated_at, submitted_at, approved_by,"
    " approved_at, approved_hash, reviewed_hash, reject_reason, published_at, code,"
    " cancelled_by, cancelled_at, cancel_reason, superseded_by, integrity_failure"
)
_KINDS = {"phones": "phone", "accounts": "account", "links": "link"}


def _alert(row: tuple) -> Alert:
    values = list(row)
    values[6] = Status(values[6])
    values[7] = content_from_dict(json.loads(values[7]))
    return Alert(*values)


def get_alert(db: sqlite_utils.Database, alert_id: int) -> Alert | None:
    """Return the revision with this id, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM warnings WHERE id = ?", [alert_id]).fetchone()
    return _alert(row) if row else None


def _content_columns(content: Content, content_hash: str) -> dict[str, object]:
    """Return the columns derived from the content (kept beside the JSON for queries)."""
    return {
        "content": json.dumps(content.as_dict(), ensure_ascii=False, sort_keys=True),
        "content_hash": content_hash,
        "mode": content.mode,
        "publish_at": content.publish_at,
        "expires_at": content.expires_at,
        "image_sha256": content.image,
    }


def insert_alert(
    db: sqlite_utils.Database,
    *,
    series_id: int | None,
    revision: int,
    msg_type: str,
    references_id: int | None,
    unit_id: int,
    content: Content,
    content_hash: str,
    user_id: int,
    now: str,
) -> int:
    """Insert a draft revision (a new series when ``series_id`` is None); return its id."""
    new_id = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM warnings").fetchone()[0]
    values = {
        "id": new_id,
        "series_id": series_id or new_id,
        "revision": revision,
        "msg_type": msg_type,
        "references_id": references_id,
        "unit_id": unit_id,
        "status": Status.DRAFT.value,
        **_content_columns(content, content_hash),
        "created_by": user_id,
        "created_at": now,
        "updated_by": user_id,
        "updated_at": now,
    }
    marks = ", ".join("?" * len(values))
    db.execute(
        f"INSERT INTO warnings ({', '.join(values)}) VALUES ({marks})", list(values.values())
    )
    _save_targets(db, new_id, content)
    return new_id


def update_content(
    db: sqlite_utils.Database,
    alert_id: int,
    content: Content,
    content_hash: str,
    user_id: int,
    now: str,
) -> None:
    """Replace a revision's content (the caller decides the status change)."""
    columns = _content_columns(content, content_hash)
    set_fields(db, alert_id, **columns, updated_by=user_id, updated_at=now)
    db.execute("DELETE FROM warning_regions WHERE warning_id = ?", [alert_id])
    db.execute("DELETE FROM warning_indicators WHERE warning_id = ?", [alert_id])
    _save_targets(db, alert_id, content)


def _save_targets(db: sqlite_utils.Database, alert_id: int, content: Content) -> None:
    db.conn.executemany(
        "INSERT INTO warning_regions (warning_id, region_code) VALUES (?, ?)",
        [(alert_id, code) for code in content.regions],
    )
    rows = []
    for kind, kind_name in _KINDS.items():
        for value in getattr(content.indicators, kind):
            rows.append((alert_id, kind_name, value, PARSERS[kind](value).key))
    db.conn.executemany(
        "INSERT INTO warning_indicators (warning_id, kind, value, key) VALUES (?, ?, ?, ?)", rows
    )


def stored_targets(db: sqlite_utils.Database, alert_id: int) -> tuple[set, set]:
    """Return the revision's region codes and (kind, value) indicators as stored for
    queries, to compare them with its content."""
    regions = db.execute(
        "SELECT region_code FROM warning_regions WHERE warning_id = ?", [alert_id]
    ).fetchall()
    indicators = db.execute(
        "SELECT kind, value FROM warning_indicators WHERE warning_id = ?", [alert_id]
    ).fetchall()
    return {r[0] for r in regions}, {(k, v) for k, v in indicators}


def content_targets(content: Content) -> tuple[set, set]:
    """Return what ``stored_targets`` holds for this content."""
    indicators = {(_KINDS[k], v) for k in _KINDS for v in getattr(content.indicators, k)}
    return set(content.regions), indicators


def set_fields(db: sqlite_utils.Database, alert_id: int, **values: object) -> None:
    """Set workflow columns (status, approved_by, ...) of one revision."""
    names = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE warnings SET {names} WHERE id = ?", [*values.values(), alert_id])


def add_editor(db: sqlite_utils.Database, alert_id: int, user_id: int) -> None:
    """Record that a user wrote this revision's content."""
    db.execute(
        "INSERT OR IGNORE INTO warning_editors (warning_id, user_id) VALUES (?, ?)",
        [alert_id, user_id],
    )


def editors(db: sqlite_utils.Database, alert_id: int) -> set[int]:
    """Return the ids of everyone who wrote this revision's content."""
    rows = db.execute("SELECT user_id FROM warning_editors WHERE warning_id = ?", [alert_id])
    return {r[0] for r in rows}


def save_version(
    db: sqlite_utils.Database,
    alert_id: int,
    content: Content,
    content_hash: str,
    user_id: int,
    now: str,
) -> None:
    """Keep a snapshot of the content (for the reviewer's diff); one per distinct hash."""
    db.execute(
        "INSERT OR IGNORE INTO warning_versions (warning_id, content_hash, content, saved_by,"
        " saved_at) VALUES (?, ?, ?, ?, ?)",
        [alert_id, content_hash, _content_columns(content, content_hash)["content"], user_id, now],
    )


def get_version(db: sqlite_utils.Database, alert_id: int, content_hash: str) -> Content | None:
    """Return a snapshot of a revision's content by hash, or None."""
    row = db.execute(
        "SELECT content FROM warning_versions WHERE warning_id = ? AND content_hash = ?",
        [alert_id, content_hash],
    ).fetchone()
    return content_from_dict(json.loads(row[0])) if row else None


def series(db: sqlite_utils.Database, series_id: int) -> list[Alert]:
    """Return every revision of a warning, oldest first."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warnings WHERE series_id = ? ORDER BY revision", [series_id]
    )
    return [_alert(r) for r in rows]


def list_alerts(
    db: sqlite_utils.Database,
    unit_ids: Iterable[int] | None,
    *,
    statuses: Iterable[Status] | None = None,
    limit: int = 200,
) -> list[Alert]:
    """Return revisions of the given units (None: all), newest first."""
    where, params = [], []
    if unit_ids is not None:
        ids = list(unit_ids)
        where.append(f"unit_id IN ({', '.join('?' * len(ids))})")
        params += ids
    if statuses is not None:
        chosen = [s.value for s in statuses]
        where.append(f"status IN ({', '.join('?' * len(chosen))})")
        params += chosen
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warnings {clause} ORDER BY updated_at DESC, id DESC LIMIT ?",
        [*params, limit],
    )
    return [_alert(r) for r in rows]


def due(db: sqlite_utils.Database, status: Status, column: str, now: str) -> list[Alert]:
    """Return revisions in ``status`` whose ``column`` time (publish/expiry) has come."""
    assert column in ("publish_at", "expires_at")
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM warnings WHERE status = ? AND COALESCE({column}, '') <= ?",
        [status.value, now],
    )
    return [_alert(r) for r in rows]


def code_taken(db: sqlite_utils.Database, code: str) -> bool:
    """Return whether a verification code is already in use."""
    return db.execute("SELECT 1 FROM warnings WHERE code = ?", [code]).fetchone() is not None


def listing_indicator(
    db: sqlite_utils.Database, kind: str, key: str, limit: int
) -> list[tuple[int, str]]:
    """Return (id, value as listed) of the live warnings that list an indicator, newest first:
    published, expired or cancelled after publication, never drafts, drills or revisions
    replaced by an update."""
    return db.execute(
        "SELECT DISTINCT w.id, i.value FROM warning_indicators i"
        " JOIN warnings w ON w.id = i.warning_id"
        " WHERE i.kind = ? AND i.key = ? AND w.status IN ('published', 'expired', 'cancelled')"
        " AND w.published_at IS NOT NULL AND w.code IS NOT NULL AND w.mode = 'Actual'"
        " AND w.superseded_by IS NULL ORDER BY w.published_at DESC, w.id DESC LIMIT ?",
        [kind, key, limit],
    ).fetchall()


def integrity_failures(db: sqlite_utils.Database) -> list[int]:
    """Return the ids of revisions whose stored content failed its integrity check."""
    rows = db.execute("SELECT id FROM warnings WHERE integrity_failure IS NOT NULL ORDER BY id")
    return [r[0] for r in rows]
