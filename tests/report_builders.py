"""Residents' reports as filing leaves them, written straight into SQLite: the inbox's tests
do not depend on how reports are filed, only on the rows ``m014_reports`` defines."""

from __future__ import annotations

import itertools
from datetime import datetime
from datetime import timedelta

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.security import vault
from alerts.warnings.indicators import PARSERS
from tests.builders import CONFIG

_NUMBERS = itertools.count(1)
KIND_OF = {"phone": "phones", "account": "accounts", "link": "links"}


def unit_id(db, code: str) -> int:
    return db.execute("SELECT id FROM units WHERE code = ?", [code]).fetchone()[0]


def other_commune(db, province: str = "01", but: str = "00070") -> str:
    """Return a commune of the province other than ``but``."""
    row = db.execute(
        "SELECT code FROM regions WHERE parent_code = ? AND code != ? ORDER BY code LIMIT 1",
        [province, but],
    ).fetchone()
    return row[0]


def add_report(
    db,
    *,
    region: str = "00070",
    kind: str = "scam_call",
    channel: str = "zalo",
    contact: str | None = "4418000000000001",
    account_id: int | None = None,
    indicators: tuple[str, ...] = ("phone:0912 345 678",),
    text: str = "Có người gọi tự xưng công an, đòi chuyển tiền.",
    created_at: datetime | None = None,
    status: str = "new",
    image: tuple[str, bytes] | None = None,
) -> str:
    """Insert a report routed to the commune's unit; return its reference code."""
    code = f"BT-TEST-{next(_NUMBERS):04d}"
    unit = unit_id(db, f"ca-{region}")
    created = to_text(created_at or utcnow())
    sealed = vault.seal(CONFIG, {"address": contact}) if contact else None
    masked = ("***" + contact[-3:]) if contact else None
    with write(db):
        report_id = db.execute(
            "INSERT INTO reports (code, kind, region_code, unit_id, origin_unit_id, status, text,"
            " channel, account_id, contact_sealed, contact_masked, created_at, updated_at,"
            " purge_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [code, kind, region, unit, unit, status, text, channel, account_id, sealed, masked]
            + [created, created, to_text(utcnow() + timedelta(days=180))],
        ).lastrowid
        for entry in indicators:
            name, _, raw = entry.partition(":")
            found = PARSERS[KIND_OF[name]](raw)
            db.execute(
                "INSERT INTO report_indicators (report_id, kind, value, key) VALUES (?, ?, ?, ?)",
                [report_id, found.kind, found.value, found.key],
            )
        if image:
            mime, data = image
            db.execute(
                "INSERT INTO report_images (report_id, mime, sealed, created_at)"
                " VALUES (?, ?, ?, ?)",
                [report_id, mime, vault.vault(CONFIG).encrypt(data), created],
            )
    return code
