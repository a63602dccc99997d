"""Personal access tokens: how a partner's script acts as one staff member through the API.

A token is a random secret shown once, at creation; only its SHA-256 is stored, so the
database cannot leak working tokens. A fast hash is enough here (unlike passwords) because
the secret carries 256 random bits: there is nothing to guess. A token acts with its
user's current unit and roles, so disabling the user stops every token at once; revoking
stops one. Creation, revocation and any use of a dead token are audited, never the token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import timedelta

import sqlite_utils

from alerts import audit
from alerts.clock import from_text
from alerts.clock import now_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import User
from alerts.store import audit as audit_store
from alerts.store import tokens as store
from alerts.store import users as user_store
from alerts.store.tokens import ApiToken
from alerts.text import clean_line

# A recognisable start lets secret scanners (and people) spot a leaked token.
TOKEN_PREFIX = "cbt_"
# Characters of the secret kept for display: enough to tell tokens apart, far too few to
# help guess the other 35.
PREFIX_SHOWN = 8
NAME_MAX = 100
DEFAULT_NAME = "api"
# Recording every use would turn each API read into a write; once a minute is enough.
TOUCH_EVERY = timedelta(minutes=1)
_MAX_LENGTH = 100


def hash_token(secret: str) -> str:
    """Return the stored form of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _log(db: sqlite_utils.Database, actor: audit.Actor, action: str, username: str, **detail):
    audit_store.append(db, audit.make_entry(actor, action, f"user:{username}", detail))


def _name(value: str | None) -> str:
    name = clean_line(value or "") or DEFAULT_NAME
    if len(name) > NAME_MAX:
        raise Refused(
            "At most %(max)s characters (now %(count)s).", "name", max=NAME_MAX, count=len(name)
        )
    return name


def _user(db: sqlite_utils.Database, username: str) -> User:
    user = user_store.get_user_by_username(db, username.strip().lower())
    if user is None:
        raise NotFound(username)
    return user


def create_token(
    db: sqlite_utils.Database, actor: audit.Actor, username: str, name: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token for an active user; return it and its secret (shown once, never stored).

    Raises NotFound for an unknown username and Refused for a disabled account or a bad name.
    """
    user = _user(db, username)
    if not user.active:
        raise Refused("This account is disabled.", "username")
    label = _name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    prefix = secret[: len(TOKEN_PREFIX) + PREFIX_SHOWN]
    with write(db):
        token_id = store.insert_token(
            db,
            user_id=user.id,
            name=label,
            token_hash=hash_token(secret),
            prefix=prefix,
            now=now_text(),
        )
        _log(db, actor, "api_token.create", user.username, id=token_id, name=label, prefix=prefix)
    return store.get_token(db, token_id), secret


def revoke_token(db: sqlite_utils.Database, actor: audit.Actor, token_id: int) -> bool:
    """Revoke a token; return False if it was revoked already. NotFound if there is none."""
    token = store.get_token(db, token_id) if 0 < token_id < 2**63 else None
    if token is None:
        raise NotFound(token_id)
    with write(db):
        revoked = store.revoke_token(db, token.id, now_text())
        if revoked:
            owner = user_store.get_user(db, token.user_id)
            _log(db, actor, "api_token.revoke", owner.username, id=token.id, prefix=token.prefix)
    return revoked


def list_tokens(db: sqlite_utils.Database, username: str) -> list[ApiToken]:
    """Return every token of a user, revoked ones included; NotFound for an unknown user."""
    return store.user_tokens(db, _user(db, username).id)


def _refusal(token: ApiToken, user: User | None, settings: Mapping) -> str | None:
    """Return why a known token may not act (for the audit log), or None."""
    if token.revoked_at is not None:
        return "token revoked"
    if user is None or not user.active:
        return "account disabled"
    if user.is_demo and settings["ENV"] == "production":
        return "demo account in production"
    return None


def authenticate(
    db: sqlite_utils.Database, secret: str, settings: Mapping, ip: str | None = None
) -> User | None:
    """Return the user a live token acts for, or None; record when it was last used.

    A revoked token, or one of a disabled account, is refused and the attempt audited:
    it means a token is still out there that should not be.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > _MAX_LENGTH:
        return None
    token = store.get_token_by_hash(db, hash_token(secret))
    if token is None:
        return None
    user = user_store.get_user(db, token.user_id)
    refusal = _refusal(token, user, settings)
    if refusal:
        with write(db):
            owner = user.username if user else str(token.user_id)
            anonymous = audit.Actor("anonymous", None, ip)
            _log(db, anonymous, "api_token.refused", owner, id=token.id, reason=refusal)
        return None
    now = utcnow()
    if token.last_used_at is None or now - from_text(token.last_used_at) >= TOUCH_EVERY:
        with write(db):
            store.touch_token(db, token.id, now_text())
    return user
