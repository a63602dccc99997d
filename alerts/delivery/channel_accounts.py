"""Units' channel accounts: each unit has its own Page, OA, bot, gateway account or newsroom
endpoints. Secrets are sealed with ALERTS_DATA_KEY before they reach the database, shown
only masked, and rotated in one transaction (the worker reads them on every tick, so a
rotation needs no restart). Every change is audited without the secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlite_utils

from alerts import audit
from alerts import channels
from alerts.db import write
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Acting
from alerts.models import Role
from alerts.regions.jurisdiction import unit_covers
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store import units as unit_store
from alerts.store.accounts import StoredAccount

CHANNELS = channels.NAMES


@dataclass(frozen=True)
class AccountView:
    """An account as staff see it: settings, and secrets masked."""

    account: StoredAccount
    unit_name: str
    masked: dict[str, str]


def _log(db, who: audit.Actor, action: str, account_id: int, **detail) -> None:
    audit_store.append(db, audit.make_entry(who, action, f"account:{account_id}", detail))


def create_account(
    db: sqlite_utils.Database,
    config: Mapping,
    who: audit.Actor,
    *,
    unit_code: str,
    channel: str,
    name: str,
    base_url: str,
    settings: Mapping[str, str],
    secrets: Mapping[str, str],
    test_audience: bool = False,
) -> int:
    """Add an account to a unit (operators and admins; the caller checks who may)."""
    unit = unit_store.get_unit_by_code(db, unit_code)
    if unit is None:
        raise Refused("Unknown unit: %(code)s", "unit", code=unit_code)
    if channel not in CHANNELS:
        raise Refused("Unknown channel: %(name)s", "channel", name=channel)
    if not base_url.startswith(("https://", "http://", "smtp://")):
        raise Refused("Enter a full https:// link.", "base_url")
    sealed = vault.seal(config, secrets)
    with write(db):
        account_id = account_store.insert_account(
            db,
            unit_id=unit.id,
            channel=channel,
            name=name,
            base_url=base_url.rstrip("/"),
            settings=dict(settings),
            sealed=sealed,
            test_audience=test_audience,
        )
        _log(db, who, "channel.create", account_id, unit=unit.code, channel=channel, name=name)
    return account_id


def managed(db: sqlite_utils.Database, config: Mapping, acting: Acting) -> list[AccountView]:
    """Return the accounts of the admin's unit and the units below, secrets masked."""
    units = unit_store.units_in_scope(db, acting.unit)
    units = units if units is not None else unit_store.all_units(db)
    names = {u.id: u.name for u in units}
    views = []
    for account in account_store.accounts_of_units(db, list(names)):
        try:
            secrets = vault.unseal(config, account.secrets)
        except vault.VaultError:
            secrets = {}
        masked = {key: vault.mask(value) for key, value in secrets.items()}
        views.append(AccountView(account, names[account.unit_id], masked))
    return views


def _managed_account(db, acting: Acting, account_id: int) -> StoredAccount:
    account = account_store.get_account(db, account_id)
    unit = unit_store.get_unit(db, account.unit_id) if account else None
    if account is None or unit is None or not unit_covers(acting.unit, unit):
        raise NotFound(account_id)
    if not acting.user.has(Role.ADMIN):
        raise Refused("Only unit admins manage channel accounts.")
    return account


def rotate_secret(
    db: sqlite_utils.Database,
    config: Mapping,
    acting: Acting,
    account_id: int,
    key: str,
    value: str,
) -> None:
    """Replace one secret of an account (a token, a key) at once; audited, never logged."""
    account = _managed_account(db, acting, account_id)
    if not key or not value.strip():
        raise Refused("This field is required.", "value")
    with write(db):
        secrets = {**vault.unseal(config, account.secrets), key: value.strip()}
        account_store.set_secrets(db, account.id, vault.seal(config, secrets))
        _log(db, acting.actor, "channel.rotate", account.id, secret=key)


def set_active(db: sqlite_utils.Database, acting: Acting, account_id: int, active: bool) -> None:
    """Re-enable an account the engine stopped (or stop one by hand)."""
    account = _managed_account(db, acting, account_id)
    with write(db):
        account_store.set_active(db, account.id, active, None if active else "stopped by an admin")
        _log(db, acting.actor, "channel.enable" if active else "channel.disable", account.id)


def reseal_all(db: sqlite_utils.Database, config: Mapping, who: audit.Actor) -> int:
    """Re-encrypt every account's secrets with the first ALERTS_DATA_KEY (after rotation)."""
    with write(db):
        rows = account_store.all_secrets(db)
        for account_id, sealed in rows:
            account_store.set_secrets(db, account_id, vault.reseal(config, sealed))
        audit_store.append(
            db, audit.make_entry(who, "channel.reseal", "accounts", {"count": len(rows)})
        )
    return len(rows)
