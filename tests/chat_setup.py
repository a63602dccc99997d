"""What the chat tests share (Telegram and Zalo talking back): the settings with a secret
key and short deadlines, a channel account on the fakes given its inbound settings and
secrets, reading the inbox, and reading a chat's answers in any order."""

from __future__ import annotations

import json
from dataclasses import replace

from alerts.delivery import policy
from alerts.security import vault
from alerts.store import accounts as account_store
from tests.builders import CONFIG
from tests.delivery_setup import add_accounts

SECRET = "test-secret"
CONF = {**CONFIG, "SECRET_KEY": SECRET, "CONFIRMATIONS_PER_DESTINATION": 3}
CONF["REPORT_RETENTION_DAYS"] = 180
FAST = {c: replace(p, deadline=1.5) for c, p in policy.POLICIES.items()}


def chat_account(db, fakes, channel: str, settings: dict, secrets: dict) -> int:
    """The unit's account of the channel on the fakes, with these settings and secrets
    added (what the platform needs to call us); return its id."""
    account_id = add_accounts(db, CONFIG, fakes)[channel]
    stored = account_store.get_account(db, account_id)
    merged = json.dumps({**stored.settings, **settings})
    db.execute("UPDATE channel_accounts SET settings = ? WHERE id = ?", [merged, account_id])
    opened = {**vault.unseal(CONFIG, stored.secrets), **secrets}
    account_store.set_secrets(db, account_id, vault.seal(CONFIG, opened))
    return account_id


def one(texts: list[str], fragment: str) -> str:
    """The one answer holding ``fragment`` (the engine sends a chat's answers in no fixed
    order)."""
    (found,) = [t for t in texts if fragment in t]
    return found


def events(db) -> list[tuple]:
    return db.execute("SELECT event_key, kind, status FROM inbound_events ORDER BY id").fetchall()
