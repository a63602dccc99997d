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
    db: sqlite_utils.Database, username: str, password: str, ip: str | None, settings: dict
) -> Outcome:
    """Check a username and password under the throttling rules; audit the outcome."""
    username = username.strip().lower()[:64]
    keys = _keys(username, ip)
    limits = {"user": settings["SIGNIN_MAX_FAILURES"], "ip": settings["SIGNIN_IP_MAX_FAILURES"]}
    window = timedelta(minutes=settings["SIGNIN_WINDOW_MINUTES"])
    anonymous = audit.Actor("anonymous", None, ip)
    wait = wait_seconds(db, username, ip)
    if wait:
        with write(db):
            _log(db, anonymous, "signin.throttled", f"user:{username}")
        return Outcome(error="throttled", wait_seconds=wait)
    user = user_store.get_user_by_username(db, username)
    stored = user_store.password_hash(db, user.id) if user else None
    matches = passwords.verify_password(stored, password)
    refused = _refusal(user, matches, settings)
    with write(db):
        if refused:
            for name, key in keys.items():
                _record_failure(db, key, limits[name], window)
            _log(db, anonymous, "signin.failed", f"user:{username}", reason=refused)
            return Outcome(error="invalid")
        throttle_store.clear_counter(db, keys["user"])
        if passwords.needs_rehash(stored):
            user_store.update_user(db, user.id, password_hash=passwords.hash_password(password))
    return Outcome(user=user, needs_totp=user.totp_enabled)


def _keys(username: str, ip: str | None) -> dict[str, str]:
    return {"user": f"user:{username}", "ip": f"ip:{ip or '-'}"}


def wait_seconds(db: sqlite_utils.Database, username: str, ip: str | None) -> int:
    """Return how many seconds this account or address must wait before trying (0: none)."""
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
        _record_failure(
            db,
            f"user:{user.username}",
            settings["SIGNIN_MAX_FAILURES"],
            timedelta(minutes=settings["SIGNIN_WINDOW_MINUTES"]),
        )
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
