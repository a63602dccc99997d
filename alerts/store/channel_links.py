"""One-time "subscribe in the app" links (m013): only the token's digest is stored.

Every change runs inside the caller's ``write`` transaction.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import sqlite_utils


class Link(NamedTuple):
    """What a link was made for: the channel's account and the regions chosen."""

    channel: str
    account_id: int
    region_codes: tuple[str, ...]
    lang: str


def insert(
    db: sqlite_utils.Database,
    token_hash: str,
    link: Link,
    now: str,
    expires_at: str,
) -> None:
    db.execute(
        "INSERT INTO channel_links (token_hash, channel, account_id, region_codes, lang,"
        " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            token_hash,
            link.channel,
            link.account_id,
            json.dumps(list(link.region_codes)),
            link.lang,
            now,
            expires_at,
        ],
    )


def use(db: sqlite_utils.Database, token_hash: str, account_id: int, now: str) -> Link | None:
    """Mark the account's unexpired, unused link used and return it, or None: a token
    opens once, and only on the bot it was made for."""
    row = db.execute(
        "UPDATE channel_links SET used_at = ? WHERE token_hash = ? AND account_id = ?"
        " AND used_at IS NULL AND expires_at > ?"
        " RETURNING channel, account_id, region_codes, lang",
        [now, token_hash, account_id, now],
    ).fetchone()
    if row is None:
        return None
    return Link(row[0], row[1], tuple(json.loads(row[2])), row[3])


def drop_expired(db: sqlite_utils.Database, now: str) -> int:
    """Delete links past their expiry, used or not; return how many."""
    return db.execute("DELETE FROM channel_links WHERE expires_at <= ?", [now]).rowcount
