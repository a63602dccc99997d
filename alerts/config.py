"""Settings: defaults in code, deployment values from the environment or config/.env.

This is the only module that reads ``os.environ``. Every setting is declared once in
``SETTINGS`` (name, parser, default, description); ``config/.env.example`` documents the
same list and a test keeps the two in step. A missing or malformed value raises
``ConfigError`` naming the setting, so the app fails at start rather than later.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"
# The Jinja2 templates: inside the package in an installed wheel (setup.py maps the top-level
# templates/ folder there), else at the top of the checkout, where the layout keeps them.
_PACKAGED_TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATES_DIR = _PACKAGED_TEMPLATES if _PACKAGED_TEMPLATES.is_dir() else PROJECT_ROOT / "templates"
DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production"
ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(SystemExit):
    """A setting is missing or malformed; the message names it.

    A SystemExit, so that `flask`, waitress or any script stops with this one message
    instead of a traceback.
    """


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) <= 0:
        raise ValueError("must be a positive whole number")
    return int(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise ValueError(f"must be one of {', '.join(ENVIRONMENTS)}")
    return value


def _locale(value: str) -> str:
    if value not in ("vi", "en"):
        raise ValueError("must be vi or en")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not a known time zone") from exc
    return value


def _domains(value: str) -> tuple[str, ...]:
    domains = tuple(d.strip().lower().strip(".") for d in value.split(",") if d.strip())
    if not domains or any("." not in d or "/" in d or " " in d for d in domains):
        raise ValueError("must be a comma-separated list of domain names")
    return domains


def _url(value: str) -> str:
    url = value.strip().rstrip("/")
    if not url.startswith(("https://", "http://")) or " " in url:
        raise ValueError("must be an http(s):// URL")
    return url


def _purge_pattern(value: str) -> str:
    url = _url(value)
    if "{path}" not in url:
        raise ValueError("must hold {path}, where the page's path goes")
    return url


def _purge_method(value: str) -> str:
    method = value.strip().upper()
    if method not in ("GET", "PURGE"):
        raise ValueError("must be GET or PURGE")
    return method


def _segments(value: str) -> int:
    number = _positive_int(value)
    if number > 10:
        raise ValueError("must be 1 to 10")
    return number


def _hours(value: str) -> int:
    if not value.strip().isdigit() or int(value) > 8760:
        raise ValueError("must be a whole number of hours from 0 (off) to 8760")
    return int(value)


def _signal_min(value: str) -> int:
    number = _positive_int(value)
    if number < 2:
        raise ValueError("must be 2 or more: one report alone never marks a number")
    return number


def _retention_days(value: str) -> int:
    number = _positive_int(value)
    if number > 3650:
        raise ValueError("must be 1 to 3650 days")
    return number


def _remind_minutes(value: str) -> int:
    number = _positive_int(value)
    if not 5 <= number <= 10080:
        raise ValueError("must be 5 to 10080 minutes (a week)")
    return number


@dataclass(frozen=True)
class Setting:
    """One deployment setting: read as ALERTS_<name> and stored as app.config[name]."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    doc: str


SETTINGS = (
    Setting("ENV", _environment, "development", "development, production or testing."),
    Setting("SECRET_KEY", _text, DEV_SECRET_KEY, "Signs session cookies; 32+ random characters."),
    Setting("DATABASE", _text, "", "Path of the SQLite file (default: instance/alerts.db)."),
    Setting("BUSY_TIMEOUT_MS", _positive_int, 5000, "How long a writer waits for the lock."),
    Setting("SESSION_IDLE_MINUTES", _positive_int, 30, "Sign-out after this long idle."),
    Setting("SESSION_MAX_HOURS", _positive_int, 12, "Absolute lifetime of a session."),
    Setting(
        "SIGNIN_MAX_FAILURES", _positive_int, 5, "Failed sign-ins per account from one address."
    ),
    Setting(
        "SIGNIN_IP_MAX_FAILURES", _positive_int, 20, "Failed sign-ins per address before delays."
    ),
    Setting("SIGNIN_WINDOW_MINUTES", _positive_int, 15, "Window in which failures are counted."),
    Setting(
        "CONFIRMATIONS_PER_DESTINATION",
        _positive_int,
        3,
        "Subscribe or manage messages one phone or mailbox gets per 24 hours.",
    ),
    Setting("DEFAULT_LOCALE", _locale, "vi", "Language of the UI when the user chose none."),
    Setting("DISPLAY_TIMEZONE", _timezone, "Asia/Ho_Chi_Minh", "Time zone dates are shown in."),
    Setting("TOTP_ISSUER", _text, "Canh bao Bo Cong an", "Issuer name shown in TOTP apps."),
    Setting("REQUIRE_TOTP", _bool, None, "Force TOTP for approvers (default: on in production)."),
    Setting(
        "OFFICIAL_DOMAINS",
        _domains,
        ("bocongan.gov.vn", "chinhphu.vn", "gov.vn"),
        "Domains a warning may link to (subdomains included).",
    ),
    Setting(
        "PUBLIC_URL",
        _url,
        "http://127.0.0.1:5000",
        "The portal's public address, used in every short link and CAP identifier.",
    ),
    Setting(
        "PORTAL_CACHE_SECONDS",
        _positive_int,
        20,
        "Shared caches keep public pages this long (s-maxage); a change shows within 1.5 times.",
    ),
    Setting(
        "CACHE_PURGE_URL",
        _purge_pattern,
        "",
        "Where the worker refreshes (or purges) each changed public page, e.g."
        " http://127.0.0.1:8080/refresh{path} (empty: caches expire on their own).",
    ),
    Setting(
        "CACHE_PURGE_METHOD",
        _purge_method,
        "GET",
        "GET for a refresh location (config/nginx.conf.example), PURGE for caches that"
        " drop a copy on it (Varnish, a CDN).",
    ),
    Setting(
        "WORKER_LEASE_SECONDS",
        _positive_int,
        60,
        "How long a silent worker keeps the lease before another may take over.",
    ),
    Setting(
        "BACKUP_EVERY_HOURS",
        _hours,
        None,
        "Hours between the worker's verified backups; 0 = off (default: 24 in production).",
    ),
    Setting(
        "BACKUP_DIR", _text, "", "Folder of the scheduled backups (default: backups/ by the db)."
    ),
    Setting("BACKUP_KEEP", _positive_int, 7, "How many scheduled backups are kept."),
    Setting("SMS_MAX_SEGMENTS", _segments, 2, "SMS budget per warning, in 153-character parts."),
    Setting(
        "REPORT_RETENTION_DAYS",
        _retention_days,
        180,
        "Days a resident's report and screenshot are kept, unless a warning came from it.",
    ),
    Setting(
        "REPORT_SIGNAL_MIN",
        _signal_min,
        3,
        "Distinct residents whose open reports a lookup needs before it shows them (2+).",
    ),
    Setting(
        "STAFF_REMIND_AFTER_MINUTES",
        _remind_minutes,
        60,
        "Minutes a warning waits for approval before its approvers are reminded (5 to 10080).",
    ),
    Setting(
        "DATA_KEY",
        _text,
        "",
        "Fernet key(s) encrypting channel credentials; the first encrypts, all decrypt.",
    ),
    Setting(
        "SIGNING_KEY",
        _text,
        "",
        "Ed25519 private key (base64 of the 32-byte seed) that signs published warnings.",
    ),
    Setting(
        "CAP_SIGNING_KEY",
        _text,
        "",
        "RSA or ECDSA private key (PEM text or a PEM file's path) signing CAP documents.",
    ),
    Setting(
        "CAP_SIGNING_CERT",
        _text,
        "",
        "X.509 certificate of the CAP signing key (PEM text or a PEM file's path).",
    ),
)


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the raw ALERTS_* values: config/.env first, the real environment winning."""
    values = {k: v for k, v in dotenv_values(CONFIG_DIR / ".env").items() if v is not None}
    values.update(os.environ if environ is None else environ)
    return {k[len("ALERTS_") :]: v for k, v in values.items() if k.startswith("ALERTS_")}


def parse_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse raw values into typed settings; raise ConfigError naming the first bad one."""
    parsed = {}
    for setting in SETTINGS:
        value = raw.get(setting.name)
        if value is None or (isinstance(value, str) and value == ""):
            parsed[setting.name] = setting.default
            continue
        if not isinstance(value, str):
            parsed[setting.name] = value
            continue
        try:
            parsed[setting.name] = setting.parse(value)
        except ValueError as exc:
            raise ConfigError(f"ALERTS_{setting.name} {exc} (got {value!r})") from None
    return _derive(parsed)


def _derive(settings: dict[str, Any]) -> dict[str, Any]:
    """Fill settings that depend on others and refuse unsafe production values."""
    production = settings["ENV"] == "production"
    if production and settings["SECRET_KEY"] == DEV_SECRET_KEY:
        raise ConfigError(
            "ALERTS_SECRET_KEY must be set in production (the development key is refused)"
        )
    if production and len(settings["SECRET_KEY"]) < 32:
        raise ConfigError("ALERTS_SECRET_KEY must be at least 32 characters in production")
    if settings["REQUIRE_TOTP"] is None:
        settings["REQUIRE_TOTP"] = production
    if settings["BACKUP_EVERY_HOURS"] is None:
        settings["BACKUP_EVERY_HOURS"] = 24 if production else 0
    return settings


def load(test_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the app's settings: from the mapping in tests, else from env and config/.env."""
    if test_config is not None:
        settings = parse_settings({"ENV": "testing", **test_config})
        extra = {k: v for k, v in test_config.items() if k not in settings}
        return {**settings, **extra}
    return parse_settings(read_environment())


def flask_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Flask and extension keys that follow from our settings."""
    production = settings["ENV"] == "production"
    return {
        "TESTING": settings["ENV"] == "testing",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "__Host-alerts" if production else "alerts_session",
        "PERMANENT_SESSION_LIFETIME": settings["SESSION_MAX_HOURS"] * 3600,
        "BABEL_DEFAULT_LOCALE": settings["DEFAULT_LOCALE"],
        "BABEL_DEFAULT_TIMEZONE": settings["DISPLAY_TIMEZONE"],
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
