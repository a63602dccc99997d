"""Signing in and out: password, throttling, second factor and server-side sessions.

Every outcome (success, failure, throttling, sign-out) lands in the audit log. Sessions are
rows in the database, so sign-out, disabling an account or a password reset ends them in
every process at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import from_text
from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.models import Level
from alerts.models import Role
from alerts.models import User
from alerts.security import passwords
from alerts.security import throttle
from alerts.security import totp
from alerts.store import audit as audit_store
from alerts.store import sessions as session_store
from alerts.store import throttle as throttle_store
from alerts.store import units as unit_store
from alerts.store import users as user_store

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Outcome:
    """What a password check led to: a user (maybe still needing TOTP), or a refusal."""

    user: User | None = None
    needs_totp: bool = False
    error: str | None = None
    wait_seconds: int = 0


def _counter(db: sqlite_utils.Database, key: str) -> throttle.Counter | None:
    row = throttle_store.get_counter(db, key)
    if row is None:
        return None
    failures, started, blocked = row
    return throttle.Counter(failures, from_text(started), from_text(blocked) if blocked else None)


def _record_failure(db: sqlite_utils.Database, key: str, limit: int, window: timedelta) -> None:
    counter = throttle.after_failure(_counter(db, key), utcnow(), limit, window)
    blocked = to_text(counter.blocked_until) if counter.blocked_until else None
    throttle_store.put_counter(
        db, key, counter.failures, to_text(counter.window_started_at), blocked
    )


def _log(
    db: sqlite_utils.Database, actor: audit.Actor, action: str, obj: str | None, **detail
) -> None:
    audit_store.append(db, audit.make_entry(actor, action, obj, detail))


def check_password(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    ip: str | None,
    settings: dict,
    code: str | None = None,
) -> Outcome:
    """Check a username and password under the throttling rules; audit the outcome.

    Delays are keyed on the pair (account, address) and on the address alone, never on the
    account alone: an account-wide counter let five wrong passwords from anywhere make the
    owner wait, and ten requests per window kept any officer out for good (ASVS 5, 6.3.1).
    An address guessing one account hits the pair limit; an address spraying many accounts
    hits the address limit. A throttled attempt is let through only with the right password
    *and* a valid second-factor ``code`` (see ``_past_throttle``).
    """
    username = username.strip().lower()[:64]
    keys = _keys(username, ip)
    anonymous = audit.Actor("anonymous", None, ip)
    if wait := wait_seconds(db, username, ip):
        user = _past_throttle(db, username, password, code, ip, settings)
        if user is not None:
            with write(db):
                throttle_store.clear_counter(db, keys["pair"])
            return Outcome(user=user)
        with write(db):
            _log(db, anonymous, "signin.throttled", f"user:{username}")
        return Outcome(error="throttled", wait_seconds=wait)
    user = user_store.get_user_by_username(db, username)
    stored = user_store.password_hash(db, user.id) if user else None
    matches = passwords.verify_password(stored, password)
    refused = _refusal(user, matches, settings)
    with write(db):
        if refused:
            _record_failures(db, keys, settings)
            _log(db, anonymous, "signin.failed", f"user:{username}", reason=refused)
            return Outcome(error="invalid")
        throttle_store.clear_counter(db, keys["pair"])
        if passwords.needs_rehash(stored):
            user_store.update_user(db, user.id, password_hash=passwords.hash_password(password))
    return Outcome(user=user, needs_totp=user.totp_enabled)


def _past_throttle(
    db: sqlite_utils.Database,
    username: str,
    password: str,
    code: str | None,
    ip: str | None,
    settings: dict,
) -> User | None:
    """Return the user when a throttled attempt still proves both factors, else None.

    Only accounts with a second factor get past a delay: a wrong guess there must be right
    twice, so the delay buys the attacker nothing, while the owner (say an approver who must
    cancel a false alert from the same office network an attacker uses) is not held up.
    Accounts without a second factor keep the pair delay even for the right password:
    letting it through would turn the delay into a free password oracle. Nothing is said
    about which factor was wrong, and no password is checked without a code (no hashing
    work for plain throttled requests). Wrong codes on this path are also counted per
    account (``totp:`` key), so a throttled address that holds the password cannot try codes
    at full speed; only someone who already has the password can move that counter.
    """
    if not code:
        return None
    user = user_store.get_user_by_username(db, username)
    if user is None or not user.totp_enabled:
        return None
    if throttle.blocked_for(_counter(db, _totp_key(username)), utcnow()):
        return None
    stored = user_store.password_hash(db, user.id)
    if _refusal(user, passwords.verify_password(stored, password), settings):
        return None
    if check_totp(db, user, code, ip, settings):
        return user
    with write(db):
        _record_failure(
            db,
            _totp_key(username),
            settings["SIGNIN_MAX_FAILURES"],
            timedelta(minutes=settings["SIGNIN_WINDOW_MINUTES"]),
        )
    return None


def _totp_key(username: str) -> str:
    return f"totp:{username}"


def _keys(username: str, ip: str | None) -> dict[str, str]:
    address = ip or "-"
    return {"pair": f"pair:{username}|{address}", "ip": f"ip:{address}"}


def _record_failures(db: sqlite_utils.Database, keys: dict[str, str], settings: dict) -> None:
    """Count one failure against the pair and the address (inside the caller's write)."""
    window = timedelta(minutes=settings["SIGNIN_WINDOW_MINUTES"])
    limits = {"pair": settings["SIGNIN_MAX_FAILURES"], "ip": settings["SIGNIN_IP_MAX_FAILURES"]}
    for name, key in keys.items():
        _record_failure(db, key, limits[name], window)


def wait_seconds(db: sqlite_utils.Database, username: str, ip: str | None) -> int:
    """Return how many seconds this account from this address must wait (0: none)."""
    now = utcnow()
    waits = [throttle.blocked_for(_counter(db, k), now) for k in _keys(username, ip).values()]
    longest = max((w for w in waits if w), default=None)
    return int(longest.total_seconds()) + 1 if longest else 0


def _refusal(user: User | None, matches: bool, settings: dict) -> str | None:
    """Return why a correct-looking sign-in is still refused (for the audit log only)."""
    if user is None:
        return "unknown user"
    if not matches:
        return "wrong password"
    if not user.active:
        return "account disabled"
    if user.is_demo and settings["ENV"] == "production":
        return "demo account in production"
    return None


def check_totp(
    db: sqlite_utils.Database, user: User, code: str, ip: str | None, settings: dict
) -> bool:
    """Check a second-factor code once (a used code is refused); audit a failure."""
    secret, _last = user_store.totp_state(db, user.id)
    step = totp.matching_step(secret, code) if secret else None
    with write(db):
        if step is not None and user_store.claim_totp_step(db, user.id, step):
            return True
        unit = unit_store.get_unit(db, user.unit_id)
        actor = audit.Actor(user.username, unit.code if unit else None, ip)
        _record_failures(db, _keys(user.username, ip), settings)
        _log(db, actor, "signin.totp_failed", f"user:{user.username}")
    return False


def start_session(db: sqlite_utils.Database, user: User, actor: audit.Actor) -> str:
    """Create a fresh session for a signed-in user; return its token (kept only in the cookie)."""
    token = secrets.token_urlsafe(32)
    with write(db):
        session_store.create_session(db, token_hash(token), user.id, to_text(utcnow()))
        _log(db, actor, "signin.ok", f"user:{user.username}")
    return token


def load_session(db: sqlite_utils.Database, token: str, settings: dict) -> User | None:
    """Return the user of a live session, ending it if it is idle or too old."""
    row = session_store.get_session(db, token_hash(token))
    if row is None:
        return None
    user_id, created_at, last_seen_at = row
    now = utcnow()
    too_old = now - from_text(created_at) > timedelta(hours=settings["SESSION_MAX_HOURS"])
    idle = now - from_text(last_seen_at) > timedelta(minutes=settings["SESSION_IDLE_MINUTES"])
    user = user_store.get_user(db, user_id)
    if too_old or idle or user is None or not user.active:
        with write(db):
            session_store.revoke_session(db, token_hash(token), to_text(now))
        return None
    if now - from_text(last_seen_at) > TOUCH_EVERY:
        with write(db):
            session_store.touch_session(db, token_hash(token), to_text(now))
    return user


def end_session(db: sqlite_utils.Database, token: str, actor: audit.Actor) -> None:
    """End a session at sign-out and audit it."""
    with write(db):
        session_store.revoke_session(db, token_hash(token), to_text(utcnow()))
        _log(db, actor, "signout", f"user:{actor.name}")


def token_hash(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def totp_required(user: User, level: Level, settings: dict) -> bool:
    """Return whether the user must have a second factor (ministry and provincial approvers)."""
    return (
        settings["REQUIRE_TOTP"]
        and user.has(Role.APPROVER)
        and level in (Level.NATION, Level.PROVINCE)
    )
