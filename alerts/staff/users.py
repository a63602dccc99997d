"""Managing staff accounts: unit admins manage users of their unit and the units below it.

Every change is checked against the admin's jurisdiction, written in one transaction with
its audit entry, and ends the target's sessions when it weakens their access. Messages are
English msgids; the web layer translates them.

Four eyes over accounts (Hawaii 2018 lessons, docs/reliability.md#separation-of-duties): an
admin who chooses someone's password could act as them, so a password an admin set must be
replaced by its owner at the next sign-in, every credential or role change is recorded in
``account_changes`` (approval reads it, see ``alerts.warnings.separation``), nobody changes their
own roles or unit, and approving powers are granted only from a unit above.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlite_utils

from alerts import audit
from alerts.clock import now_text
from alerts.db import write
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Acting
from alerts.models import Level
from alerts.models import Role
from alerts.models import Unit
from alerts.models import User
from alerts.regions.jurisdiction import unit_covers
from alerts.security import passwords
from alerts.security import totp
from alerts.store import account_changes
from alerts.store import audit as audit_store
from alerts.store import sessions as session_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.text import clean_line

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
# Roles that let an account publish or hand out powers: granted only from a unit above.
POWERS = frozenset({Role.APPROVER, Role.ADMIN})


def can_manage(admin: Acting, unit: Unit) -> bool:
    """Return whether the admin may manage users of the unit."""
    return admin.user.has(Role.ADMIN) and unit_covers(admin.unit, unit)


def managed_user(db: sqlite_utils.Database, admin: Acting, user_id: int) -> tuple[User, Unit]:
    """Return a user the admin may manage, with their unit; NotFound otherwise."""
    user = user_store.get_user(db, user_id)
    unit = unit_store.get_unit(db, user.unit_id) if user else None
    if user is None or unit is None or not can_manage(admin, unit):
        raise NotFound(user_id)
    return user, unit


def _target_unit(db: sqlite_utils.Database, admin: Acting, unit_code: str) -> Unit:
    unit = unit_store.get_unit_by_code(db, unit_code.strip().lower())
    if unit is None or not can_manage(admin, unit):
        raise Refused("Choose a unit inside your jurisdiction.", "unit")
    return unit


def _full_name(value: str) -> str:
    name = clean_line(value)
    if not 1 <= len(name) <= 100:
        raise Refused("Enter a name of 1 to 100 characters.", "full_name")
    return name


def _roles(values: Iterable[str]) -> frozenset[Role]:
    try:
        return frozenset(Role(v) for v in values)
    except ValueError:
        raise Refused("Unknown role.", "roles") from None


def _check_password(password: str, username: str) -> None:
    problem = passwords.password_problem(password, username)
    if problem:
        raise Refused(problem, "password")


def _log(db: sqlite_utils.Database, admin: Acting, action: str, user: str, **detail) -> None:
    audit_store.append(db, audit.make_entry(admin.actor, action, f"user:{user}", detail))


def _record(db: sqlite_utils.Database, admin: Acting, user_id: int, *kinds: str) -> None:
    """Note who changed the account (the command line, user id 0, is recorded as None)."""
    for kind in kinds:
        account_changes.record(db, user_id, kind, admin.user.id or None, now_text())


def _require_may_grant(admin: Acting, unit: Unit, granted: frozenset[Role]) -> None:
    """Refuse to hand out approving or admin powers from the same unit: an admin could
    otherwise make a second account for themselves and approve their own warnings. The
    ministry has no unit above it, so its admins grant powers to ministry staff."""
    if not granted & POWERS:
        return
    above = unit_covers(admin.unit, unit) and admin.unit.id != unit.id
    ministry = admin.unit.level == Level.NATION and unit.level == Level.NATION
    if not (above or ministry):
        raise Refused(
            "Only an admin of a unit above may grant the approver or admin role.", "roles"
        )


def create_user(
    db: sqlite_utils.Database,
    admin: Acting,
    *,
    username: str,
    full_name: str,
    unit_code: str,
    roles: Iterable[str],
    password: str,
) -> int:
    """Create a user in a unit the admin manages; return the new id."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise Refused("Use 3 to 40 letters a-z, digits, dots, dashes or underscores.", "username")
    name, unit, role_set = _full_name(full_name), _target_unit(db, admin, unit_code), _roles(roles)
    _require_may_grant(admin, unit, role_set)
    _check_password(password, username)
    hashed = passwords.hash_password(password)
    with write(db):
        if user_store.get_user_by_username(db, username):
            raise Refused("This username is taken.", "username")
        user_id = user_store.create_user(
            db,
            username=username,
            full_name=name,
            unit_id=unit.id,
            password_hash=hashed,
            roles=role_set,
        )
        user_store.update_user(db, user_id, must_change_password=1)
        _record(db, admin, user_id, "created")
        _log(db, admin, "user.create", username, unit=unit.code, roles=sorted(role_set))
    return user_id


def update_user(
    db: sqlite_utils.Database,
    admin: Acting,
    user_id: int,
    *,
    full_name: str,
    unit_code: str,
    roles: Iterable[str],
    active: bool,
) -> None:
    """Change a managed user's name, unit, roles or active flag."""
    user, unit = managed_user(db, admin, user_id)
    name, new_unit, role_set = (
        _full_name(full_name),
        _target_unit(db, admin, unit_code),
        _roles(roles),
    )
    if user.id == admin.user.id and (
        not active or role_set != user.roles or new_unit.id != unit.id
    ):
        raise Refused(
            "You cannot disable yourself or change your own roles or unit: ask another admin.",
            "roles",
        )
    _require_may_grant(admin, new_unit, role_set - user.roles)
    changes = _changes(user, unit, name, new_unit, role_set, active)
    if not changes:
        return
    with write(db):
        user_store.update_user(db, user.id, full_name=name, unit_id=new_unit.id, active=int(active))
        user_store.set_roles(db, user.id, role_set)
        if not active or new_unit.id != unit.id or role_set < user.roles:
            session_store.revoke_user_sessions(db, user.id, now_text())
        _record(db, admin, user.id, *(k for k in ("roles", "unit") if k in changes))
        _log(db, admin, "user.update", user.username, **changes)


def _changes(
    user: User, unit: Unit, name: str, new_unit: Unit, roles: frozenset[Role], active: bool
) -> dict:
    changes: dict[str, object] = {}
    if name != user.full_name:
        changes["full_name"] = name
    if new_unit.id != unit.id:
        changes["unit"] = f"{unit.code} -> {new_unit.code}"
    if roles != user.roles:
        changes["roles"] = sorted(roles)
    if active != user.active:
        changes["active"] = active
    return changes


def reset_password(db: sqlite_utils.Database, admin: Acting, user_id: int, password: str) -> None:
    """Set a managed user's temporary password and end their sessions; they must choose
    their own at the next sign-in, so the admin cannot keep using the account."""
    user, _unit = managed_user(db, admin, user_id)
    if user.id == admin.user.id:
        raise Refused("Change your own password on your account page.", "password")
    _check_password(password, user.username)
    hashed = passwords.hash_password(password)
    with write(db):
        user_store.update_user(db, user.id, password_hash=hashed, must_change_password=1)
        session_store.revoke_user_sessions(db, user.id, now_text())
        _record(db, admin, user.id, "password_reset")
        _log(db, admin, "user.password_reset", user.username)


def reset_totp(db: sqlite_utils.Database, admin: Acting, user_id: int) -> None:
    """Turn off a managed user's second factor (lost phone); they must enrol again."""
    user, _unit = managed_user(db, admin, user_id)
    with write(db):
        user_store.update_user(db, user.id, totp_secret=None, totp_enabled=0)
        session_store.revoke_user_sessions(db, user.id, now_text())
        _record(db, admin, user.id, "totp_reset")
        _log(db, admin, "user.totp_reset", user.username)


def change_own_password(
    db: sqlite_utils.Database, user: User, actor: audit.Actor, current: str, new: str, keep: str
) -> None:
    """Change the signed-in user's password (current one re-checked); end their other sessions.

    ``keep`` is the stored hash of the session making the change.
    """
    if not passwords.verify_password(user_store.password_hash(db, user.id), current):
        raise Refused("The current password is wrong.", "current_password")
    if new == current:
        raise Refused("Choose a password different from the current one.", "new_password")
    _check_password(new, user.username)
    hashed = passwords.hash_password(new)
    with write(db):
        user_store.update_user(db, user.id, password_hash=hashed, must_change_password=0)
        session_store.revoke_user_sessions(db, user.id, now_text(), keep=keep)
        audit_store.append(
            db, audit.make_entry(actor, "account.password_change", f"user:{user.username}")
        )


def enable_totp(
    db: sqlite_utils.Database, user: User, actor: audit.Actor, secret: str, code: str
) -> None:
    """Turn on the second factor once the user proves their app shows the right code."""
    step = totp.matching_step(secret, code)
    if step is None:
        raise Refused(
            "The code does not match. Check the time on your phone and try again.", "code"
        )
    with write(db):
        user_store.update_user(db, user.id, totp_secret=secret, totp_enabled=1)
        user_store.claim_totp_step(db, user.id, step)
        audit_store.append(
            db, audit.make_entry(actor, "account.totp_enable", f"user:{user.username}")
        )
