"""Residents' data sealed with the data key, table by table, for ``rotate-credentials`` to
re-seal after a key rotation: what channels sent us (inbound events), the contact a
reporting resident gave and their screenshot, and conversations with the bot. (Channel
accounts' secrets and the staff's channels have their own, in accounts.py and
staff_channels.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import sqlite_utils

# table: its key column and its sealed column (NULL where nothing was kept)
RESIDENTS = {
    "inbound_events": ("id", "sealed"),
    "reports": ("id", "contact_sealed"),
    "report_images": ("report_id", "sealed"),
    "chat_conversations": ("party", "sealed"),
}
BATCH = 1000


def each_sealed(db: sqlite_utils.Database, table: str) -> Iterator[tuple[object, bytes]]:
    """Yield (key, sealed) of every row of ``table`` with something sealed, in key order,
    a batch at a time (the inbox of a year holds hundreds of thousands)."""
    key, column = RESIDENTS[table]
    last: object = None
    while True:
        after = "" if last is None else f" AND {key} > ?"
        rows = db.execute(
            f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL{after}"
            f" ORDER BY {key} LIMIT {BATCH}",
            [] if last is None else [last],
        ).fetchall()
        yield from rows
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def set_sealed(db: sqlite_utils.Database, table: str, row_key: object, sealed: bytes) -> None:
    """Replace one row's sealed value (re-sealed under the first key)."""
    key, column = RESIDENTS[table]
    db.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", [sealed, row_key])
