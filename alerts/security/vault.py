"""Channel credentials encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ALERTS_DATA_KEY, never from the database: a copy of the database alone
reveals no token. Several comma-separated keys rotate without downtime: the first encrypts,
every one decrypts, and ``flask --app alerts rotate-credentials`` re-encrypts every row with
the first. Development keeps a generated key beside the database file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet

DEV_KEY_FILE = "data-key.txt"


class VaultError(Exception):
    """The key is missing or malformed, or a value does not decrypt with any key."""


def _dev_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = Fernet.generate_key().decode("ascii")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def vault(config: Mapping) -> MultiFernet:
    """Return the cipher of this deployment (ALERTS_DATA_KEY, or the development key)."""
    keys = config.get("DATA_KEY") or ""
    if not keys:
        if config["ENV"] == "production":
            raise VaultError("ALERTS_DATA_KEY must be set in production")
        keys = _dev_key(Path(config["DATABASE"]).parent / DEV_KEY_FILE)
    try:
        return MultiFernet([Fernet(k.strip().encode("ascii")) for k in keys.split(",")])
    except (ValueError, UnicodeError) as error:
        raise VaultError("ALERTS_DATA_KEY is not a valid Fernet key") from error


def seal(config: Mapping, secrets: Mapping[str, str]) -> bytes:
    """Encrypt a mapping of secrets."""
    return vault(config).encrypt(json.dumps(dict(secrets), sort_keys=True).encode("utf-8"))


def unseal(config: Mapping, token: bytes) -> dict[str, str]:
    """Decrypt secrets sealed with any of the configured keys."""
    try:
        return json.loads(vault(config).decrypt(bytes(token)))
    except InvalidToken as error:
        raise VaultError("stored credentials do not decrypt with ALERTS_DATA_KEY") from error


def reseal(config: Mapping, token: bytes) -> bytes:
    """Re-encrypt with the first key (after a key rotation); VaultError if no key opens it."""
    try:
        return vault(config).rotate(bytes(token))
    except InvalidToken as error:
        raise VaultError("stored credentials do not decrypt with ALERTS_DATA_KEY") from error


def mask(value: str) -> str:
    """Return a secret as the UI shows it: its last four characters only."""
    return "••••" + value[-4:] if len(value) > 8 else "••••"
