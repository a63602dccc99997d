"""The append-only, hash-chained audit log: what an entry holds and how the chain is checked.

Each entry's hash covers the previous entry's hash and every field of its own, so editing,
inserting or deleting a row in the middle breaks the chain from that row on.
``flask --app alerts audit-verify`` recomputes it. Details never hold passwords, tokens or
full phone numbers: ``redact`` masks them before an entry is built.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import astuple
from dataclasses import dataclass
from dataclasses import fields

from alerts.clock import now_text

GENESIS_HASH = "0" * 64
_SECRET_KEYS = re.compile(r"password|token|secret|otp", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\w)\+?\d[\d .-]{7,}\d(?!\w)")


@dataclass(frozen=True)
class Actor:
    """Who acted: a username (or "system", "cli", "anonymous"), their unit and address."""

    name: str
    unit: str | None = None
    ip: str | None = None


SYSTEM = Actor("system")


@dataclass(frozen=True)
class Entry:
    """One audit entry as stored (detail is canonical JSON)."""

    at: str
    actor: str
    actor_unit: str | None
    action: str
    object: str | None
    detail: str
    ip: str | None


def mask_phone(text: str) -> str:
    """Return the text with phone-like numbers cut to their last three digits."""
    return _PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group())[-3:], text)


def redact(detail: Mapping[str, object]) -> dict[str, object]:
    """Return the detail with secret-looking keys masked and phone numbers shortened, at any
    depth (a refusal's values, e.g. the phone number refused, sit in nested objects)."""
    return {
        key: "[redacted]" if _SECRET_KEYS.search(str(key)) else _redact_value(value)
        for key, value in detail.items()
    }


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return mask_phone(value)
    if isinstance(value, Mapping):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def make_entry(
    actor: Actor, action: str, obj: str | None = None, detail: Mapping[str, object] | None = None
) -> Entry:
    """Build an entry stamped now (UTC) with a redacted, canonical JSON detail."""
    text = json.dumps(
        redact(detail or {}), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return Entry(now_text(), actor.name, actor.unit, action, obj, text, actor.ip)


def entry_hash(prev_hash: str, entry: Entry) -> str:
    """Return the chained hash of an entry."""
    payload = json.dumps([prev_hash, *astuple(entry)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """The result of checking the chain: how many entries, and the first broken one."""

    count: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Return whether the whole chain checked out."""
        return self.broken_id is None


def verify(rows: Iterable[Mapping[str, object]]) -> Verdict:
    """Recompute the chain over rows in id order; stop at the first mismatch."""
    prev_hash, count, prev_id = GENESIS_HASH, 0, 0
    for row in rows:
        count += 1
        entry = Entry(*(row[f.name] for f in fields(Entry)))
        if row["id"] != prev_id + 1:
            return Verdict(count, row["id"], f"entries missing before id {row['id']}")
        if row["prev_hash"] != prev_hash:
            return Verdict(count, row["id"], "link to the previous entry does not match")
        if row["hash"] != entry_hash(prev_hash, entry):
            return Verdict(count, row["id"], "entry content does not match its hash")
        prev_hash, prev_id = row["hash"], row["id"]
    return Verdict(count)
