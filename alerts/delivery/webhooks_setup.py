"""Registering our inbound URLs with the platforms (``flask register-webhooks``, issue 15).

Every active account gets its own URL, ``<ALERTS_PUBLIC_URL>/hooks/<channel>/<account id>``
(``alerts/web/hooks.py``). Where the platform takes it by API the call is made
(``alerts.delivery.registration``): Telegram's ``setWebhook`` with the account's
``webhook_secret``, the Meta app's installation on the Page. Where only a console takes it,
the operator is told what to enter there: the Page's callback URL and where its verify token
is (the Meta App Dashboard), the OA's webhook URL (the Zalo developer console). No secret is
ever printed or audited; each account's outcome is audited.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from alerts import audit
from alerts.channels import Account
from alerts.db import write
from alerts.delivery import registration
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import audit as audit_store
from alerts.store.accounts import StoredAccount

CHANNELS = ["telegram", "facebook", "zalo"]  # SMS and email name their URL in each send


class PublicUrlError(ValueError):
    """ALERTS_PUBLIC_URL is no address a platform can call."""


@dataclass(frozen=True)
class Registration:
    """What was done for one account: ``ok`` False when the platform refused or the
    account lacks what it needs; ``lines`` what the operator reads."""

    account_id: int
    channel: str
    name: str
    ok: bool
    lines: tuple[str, ...]


def hook_base(public_url: str) -> str:
    """Return the public URL the hooks hang under, or raise PublicUrlError: Telegram, Meta
    and Zalo call only HTTPS addresses they can reach, with a valid certificate."""
    parts = urlsplit(public_url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host:
        raise PublicUrlError(f"ALERTS_PUBLIC_URL must be an https:// address (now {public_url})")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise PublicUrlError("ALERTS_PUBLIC_URL must hold no user, query or fragment")
    if host == "localhost" or _internal(host):
        raise PublicUrlError(f"ALERTS_PUBLIC_URL names {host}, which no platform can reach")
    return public_url.rstrip("/")


def _internal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: the platform's own check tells whether it resolves
    return not address.is_global


def register_all(
    db: sqlite_utils.Database, config: Mapping, who: audit.Actor
) -> list[Registration]:
    """Register every active Telegram, Facebook and Zalo account; audit each outcome.
    Raises PublicUrlError before anything is called."""
    base = hook_base(config["PUBLIC_URL"])
    done = []
    with registration.client() as http:
        for stored in account_store.active_of_channels(db, CHANNELS):
            url = f"{base}/hooks/{stored.channel}/{stored.id}"
            done.append(_register(config, http, stored, url))
    with write(db):
        for each in done:
            detail = {"channel": each.channel, "ok": each.ok, "outcome": each.lines[0][:300]}
            entry = audit.make_entry(who, "channel.webhook", f"account:{each.account_id}", detail)
            audit_store.append(db, entry)
    return done


def _register(config: Mapping, http: httpx.Client, stored: StoredAccount, url: str):
    try:
        secrets = vault.unseal(config, stored.secrets)
    except vault.VaultError:
        return _result(stored, False, "its secrets do not open with ALERTS_DATA_KEY")
    account = Account(stored.id, stored.channel, stored.base_url, stored.settings, secrets)
    if stored.channel == "telegram":
        error = registration.set_telegram_webhook(http, account, url)
        return _result(stored, error is None, error or f"setWebhook OK: {url}")
    if stored.channel == "facebook":
        return _facebook(http, account, stored, url)
    return _result(stored, True, f"enter in the Zalo developer console (the app > Webhook): {url}")


def _facebook(
    http: httpx.Client, account: Account, stored: StoredAccount, url: str
) -> Registration:
    """The dashboard's part is the operator's; the Page's installation is ours."""
    missing = [s for s in ("app_secret", "verify_token") if not account.secrets.get(s)]
    error = registration.subscribe_page(http, account)
    fields = ",".join(registration.PAGE_FIELDS)
    first = f"subscribed_apps OK ({fields})" if error is None else f"subscribed_apps: {error}"
    lines = [
        first,
        f"enter in the Meta App Dashboard (Webhooks, object Page): callback URL {url}",
        "verify token: the account's verify_token secret (not printed)",
    ]
    if missing:
        lines.append(f"missing secrets {', '.join(missing)}: every call will be refused")
    return _result(stored, error is None and not missing, *lines)


def _result(stored: StoredAccount, ok: bool, *lines: str) -> Registration:
    return Registration(stored.id, stored.channel, stored.name, ok, lines)
