"""A staff member's own channel for work notices: an email address or a Telegram chat,
confirmed like a resident's address (a code sent there, typed back on the account page).

The address is sealed with the data key and only its masked form is shown or audited; the
code is kept as an HMAC under the app's secret, wrong codes are counted, and the message goes
through the notices outbox from the nearest account of the person's unit up the hierarchy.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import from_text
from alerts.clock import now_text
from alerts.clock import to_text
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Refused
from alerts.models import Acting
from alerts.security import vault
from alerts.staff import languages
from alerts.staff.notify_texts import Texts
from alerts.staff.notify_texts import code_texts
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import notices as notice_store
from alerts.store import staff_channels as store
from alerts.store import units as unit_store

CHANNELS = ("email", "telegram")
CODE_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 5
# A person asks for a code for their own address; a few a day is plenty, and the cap keeps
# anyone from making a stranger's mailbox or chat receive our messages over and over.
CODES_PER_DAY = 5
CODES_WINDOW = timedelta(hours=24)
WRONG_CODE = N_("This code is wrong or has expired. Ask for a new one.")


class TooManyCodes(Refused):
    """The day's codes were all sent (429)."""

    status = 429


def staff_account(db: sqlite_utils.Database, channel: str, unit_id: int) -> int | None:
    """Return the live account of the unit, or the nearest one above it, on this channel."""
    unit = unit_store.get_unit(db, unit_id)
    while unit is not None:
        for account in account_store.accounts_of_units(db, [unit.id]):
            if account.channel == channel and account.active and not account.test_audience:
                return account.id
        unit = unit_store.get_unit(db, unit.parent_id) if unit.parent_id else None
    return None


def queue(
    db: sqlite_utils.Database,
    channel: str,
    account_id: int,
    address: str,
    texts: Texts,
    key: str,
    now: datetime,
) -> None:
    """Queue a staff notice for the engine (a day to get through, then it is dropped)."""
    subject, text, html = texts
    notice_store.insert(
        db,
        kind="staff",
        channel=channel,
        account_id=account_id,
        target=address,
        subject=subject,
        text=text,
        html=html,
        idempotency_key=key,
        now=to_text(now),
        expires_at=to_text(now + timedelta(days=1)),
    )


def _code_hash(config: Mapping, user_id: int, code: str) -> str:
    key = str(config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, f"staff-channel:{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _log(db: sqlite_utils.Database, acting: Acting, action: str, **detail) -> None:
    entry = audit.make_entry(acting.actor, action, f"user:{acting.user.id}", detail)
    audit_store.append(db, entry)


def start(
    db: sqlite_utils.Database,
    config: Mapping,
    acting: Acting,
    *,
    channel: str,
    address: str,
    masked: str,
    now: datetime,
) -> None:
    """Set the user's channel (normalised ``address``) and send it a code to type back."""
    if channel not in CHANNELS:
        raise Refused(N_("Choose email or Telegram."), "channel")
    account_id = staff_account(db, channel, acting.unit.id)
    if account_id is None:
        raise Refused(N_("No account of your unit or above can send on this channel."), "channel")
    code = f"{secrets.randbelow(10**6):06d}"
    with write(db):
        codes = _count_code(store.get(db, acting.user.id), now)
        store.set_pending(
            db,
            acting.user.id,
            channel=channel,
            sealed=vault.seal(config, {"address": address}),
            masked=masked,
            code_hash=_code_hash(config, acting.user.id, code),
            expires_at=to_text(now + CODE_TTL),
            codes=codes,
            now=to_text(now),
        )
        key = f"staff-code-{secrets.token_hex(10)}"
        texts = code_texts(channel, code, languages.of_user(db, acting.user.id, config))
        queue(db, channel, account_id, address, texts, key, now)
        _log(db, acting, "staff.channel_set", channel=channel, address=masked)


def _count_code(found: dict | None, now: datetime) -> tuple[int, str]:
    """Return (codes sent, since) with this one; refuse past the day's cap (429)."""
    if (
        found is None
        or not found["codes_since"]
        or from_text(found["codes_since"]) <= now - CODES_WINDOW
    ):
        return 1, to_text(now)
    if found["codes_sent"] >= CODES_PER_DAY:
        raise TooManyCodes(N_("You asked for too many codes today. Try again tomorrow."), "address")
    return found["codes_sent"] + 1, found["codes_since"]


def confirm(
    db: sqlite_utils.Database, config: Mapping, acting: Acting, code: str, now: datetime
) -> None:
    """Confirm the user's channel with the code sent to it; refuse a wrong or stale one."""
    found = store.get(db, acting.user.id)
    if found is None or not found["code_hash"]:
        raise Refused(N_("Ask for a code first."), "code")
    fresh = from_text(found["code_expires_at"]) > now and found["attempts"] < MAX_ATTEMPTS
    expected = _code_hash(config, acting.user.id, code.strip())
    right = fresh and hmac.compare_digest(expected, found["code_hash"])
    with write(db):  # a wrong code is counted and audited, then refused
        if right:
            store.mark_verified(db, acting.user.id, to_text(now))
            _log(
                db,
                acting,
                "staff.channel_verified",
                channel=found["channel"],
                address=found["masked"],
            )
        else:
            store.count_attempt(db, acting.user.id)
            _log(db, acting, "staff.channel_refused", channel=found["channel"])
    if not right:
        raise Refused(WRONG_CODE, "code")


def remove(db: sqlite_utils.Database, acting: Acting) -> None:
    """Stop the user's work notices."""
    with write(db):
        store.remove(db, acting.user.id)
        _log(db, acting, "staff.channel_removed")


def reseal_all(db: sqlite_utils.Database, config: Mapping, who: audit.Actor) -> tuple[int, int]:
    """Re-seal every staff channel's address with the first ALERTS_DATA_KEY (after a key
    rotation, with ``rotate-credentials``); return (re-sealed, unreadable). An address that
    no configured key opens is left for its owner to confirm again (they are told nothing
    until then), and counted."""
    resealed = unreadable = 0
    with write(db):
        for user_id, sealed in store.all_sealed(db):
            try:
                store.set_sealed(db, user_id, vault.reseal(config, sealed), now_text())
            except vault.VaultError:
                unreadable += 1
                continue
            resealed += 1
        detail = {"count": resealed, "unreadable": unreadable}
        audit_store.append(
            db, audit.make_entry(who, "staff.channel_reseal", "staff_channels", detail)
        )
    return resealed, unreadable


def current(db: sqlite_utils.Database, acting: Acting) -> dict | None:
    """Return the user's channel as shown: channel, masked address, confirmed or not."""
    found = store.get(db, acting.user.id)
    if found is None:
        return None
    return {k: found[k] for k in ("channel", "masked", "verified_at")}
