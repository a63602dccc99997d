"""The demo's channels: accounts of Hà Nội's police and the ministry pointing at the local
fake channel servers, with the credentials those fakes accept, and a few demo residents
subscribed in Phường Hoàn Kiếm and Hà Nội. Never loaded in production.

The values here are the fakes' defaults (tests/fakes/*); a test keeps the two in step.
The secrets the platforms call us back with (Telegram's webhook secret, Zalo's OA secret
key, Meta's app secret and verify token, the token in eSMS's callback URL, the email bounce
keys) are made per install, or taken from
``ALERTS_DEMO_<NAME>`` in the environment, and only ever stored sealed: the demo hands
them to the fakes over loopback (``alerts.demo.phones``), never prints them.
"""

from __future__ import annotations

import os
import secrets as random_secrets
from collections.abc import Mapping

import sqlite_utils

from alerts import audit
from alerts.db import write
from alerts.delivery import channel_accounts as accounts
from alerts.security import vault
from alerts.store import accounts as account_store
from alerts.store import subscriptions as subscription_store
from alerts.store import units as unit_store

TELEGRAM_TOKEN = "123456:TEST-TOKEN"
TELEGRAM_BOT = "canhbao_hanoi_bot"  # the t.me links of the subscribe page name it
ZALO = {
    "access_token": "zalo-access-1",
    "refresh_token": "zalo-refresh-1",
    "secret_key": "zalo-secret-1",
    "expires_at": "2099-01-01T00:00:00+00:00",
}
ZALO_APP_ID = "zalo-app-1"
ZALO_OA_ID = "3886132808700000001"
FACEBOOK_PAGE, FACEBOOK_TOKEN = "104857600000001", "fb-page-token-1"
ESMS = {"api_key": "FAKEAPIKEY", "secret_key": "FAKESECRET"}
ESMS_BRANDNAME = "CONGAN_DEMO"
# eSMS calling back: the fake's short-code key signing residents' SMS (issue 15); our URL
# token and the email bounce keys are made per install (CALLBACK_SECRETS).
ESMS_MO_KEY = "FAKE-MO-PRIVATE-KEY"
ESMS_CPID = "CP0042"
WEBHOOK_ENDPOINT = "newsroom"
WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# Demo residents: (channel, address, region). The last one is a test-audience device.
RESIDENTS = (
    ("sms", "+84900000001", "00070"),
    ("email", "an.nguyen@example.vn", "00070"),
    ("telegram", "100001", "00070"),
    ("zalo", "4418000000000001", "00070"),
    ("sms", "+84900000002", "01"),
    ("email", "binh.tran@example.vn", "01"),
)
TEST_RESIDENTS = (("sms", "+84900000009", "00070"), ("telegram", "100009", "00070"))
# Newcomers with a phone and no subscription yet: they subscribe from the phone view.
NEWCOMERS = (("telegram", "100003"), ("zalo", "4418000000000003"))
# The secrets the platforms call us back with, made per install (see the docstring).
CALLBACK_SECRETS = {
    "telegram": ("webhook_secret",),
    "zalo": ("oa_secret_key",),
    "facebook": ("app_secret", "verify_token"),
    "sms": ("callback_token",),
    "email": ("bounce_key", "hook_token"),
}


def _made(name: str) -> str:
    """A secret from ``ALERTS_DEMO_<NAME>``, else a new random one (letters, digits, - and
    _: what Telegram's ``secret_token`` allows)."""
    return os.environ.get(f"ALERTS_DEMO_{name.upper()}") or random_secrets.token_urlsafe(24)


def _callback_secrets(channel: str) -> dict[str, str]:
    return {name: _made(name) for name in CALLBACK_SECRETS.get(channel, ())}


def _specs(url: str, smtp_port: int) -> list[tuple]:
    """(unit, channel, name, base URL, settings, secrets, test audience) of each account."""
    email = {
        "host": "127.0.0.1",
        "port": str(smtp_port),
        "from": "Bộ Công an - Cảnh báo <canhbao@bocongan.gov.vn>",
    }
    return [
        (
            "ca-01",
            "telegram",
            "Kênh Telegram CA Hà Nội",
            f"{url}/telegram",
            {"chat_id": "@canhbao_hanoi", "bot_username": TELEGRAM_BOT},
            {"bot_token": TELEGRAM_TOKEN, **_callback_secrets("telegram")},
            False,
        ),
        (
            "ca-01",
            "zalo",
            "Zalo OA CA Hà Nội",
            f"{url}/zalo",
            {
                "oauth_url": f"{url}/zalo",
                "app_id": ZALO_APP_ID,
                "oa_id": ZALO_OA_ID,
                "cover_url": f"{url}/cover.jpg",
                "oa_url": "https://zalo.me/canhbaohanoi",
            },
            {**ZALO, **_callback_secrets("zalo")},
            False,
        ),
        (
            "ca-01",
            "facebook",
            "Trang Facebook CA Hà Nội",
            f"{url}/graph",
            {"page_id": FACEBOOK_PAGE},
            {"access_token": FACEBOOK_TOKEN, **_callback_secrets("facebook")},
            False,
        ),
        (
            "ca-01",
            "webhook",
            "Báo điện tử (webhook)",
            f"{url}/hooks/{WEBHOOK_ENDPOINT}",
            {"url": f"{url}/hooks/{WEBHOOK_ENDPOINT}"},
            {"secret": WEBHOOK_SECRET},
            False,
        ),
        (
            "bca",
            "sms",
            "Cổng SMS Bộ Công an",
            f"{url}/esms",
            {"brandname": ESMS_BRANDNAME, "cpid": ESMS_CPID},
            {**ESMS, "mo_private_key": ESMS_MO_KEY, **_callback_secrets("sms")},
            False,
        ),
        (
            "bca",
            "email",
            "Thư điện tử Bộ Công an",
            f"smtp://127.0.0.1:{smtp_port}",
            {**email, "bounce_domain": "bounce.bocongan.gov.vn"},
            _callback_secrets("email"),
            False,
        ),
        (
            "bca",
            "telegram",
            "Nhóm thử nghiệm (Telegram)",
            f"{url}/telegram",
            {"chat_id": "@canhbao_thunghiem"},
            {"bot_token": TELEGRAM_TOKEN},
            True,
        ),
        (
            "bca",
            "sms",
            "Cổng SMS thử nghiệm",
            f"{url}/esms",
            {"brandname": ESMS_BRANDNAME},
            ESMS,
            True,
        ),
    ]


def seed(db: sqlite_utils.Database, config: Mapping, url: str, smtp_port: int) -> int:
    """Create the demo accounts and residents that do not exist yet; return how many
    accounts were created. An account made by an earlier version gets the settings and
    secrets it lacks (an install from before the channels talked back)."""
    who = audit.Actor("demo", "bca")
    created = 0
    for unit, channel, name, base, settings, secrets, test in _specs(url.rstrip("/"), smtp_port):
        unit_id = unit_store.get_unit_by_code(db, unit).id
        existing = {(a.channel, a.name): a for a in account_store.accounts_of_units(db, [unit_id])}
        if (channel, name) in existing:
            _top_up(db, config, existing[(channel, name)], settings, secrets)
            continue
        account_id = accounts.create_account(
            db,
            config,
            who,
            unit_code=unit,
            channel=channel,
            name=name,
            base_url=base,
            settings=settings,
            secrets=secrets,
            test_audience=test,
        )
        if channel == "sms" and not test:
            _reports_to_us(db, config, account_id, settings)
        created += 1
    with write(db):
        for residents, test in ((RESIDENTS, False), (TEST_RESIDENTS, True)):
            for channel, address, region in residents:
                subscription_store.add_subscription(
                    db, channel=channel, address=address, region_code=region, test_audience=test
                )
    return created


def _top_up(db, config: Mapping, stored, settings: dict, secrets: dict) -> None:
    """Add the settings and secrets an existing account lacks, keeping what it has."""
    opened = vault.unseal(config, stored.secrets)
    if settings.keys() <= stored.settings.keys() and secrets.keys() <= opened.keys():
        return
    with write(db):
        account_store.set_settings(db, stored.id, {**settings, **stored.settings})
        account_store.set_secrets(db, stored.id, vault.seal(config, {**secrets, **opened}))


def _reports_to_us(db, config: Mapping, account_id: int, settings: dict) -> None:
    """Name the account's own hook as its CallbackUrl, so the fake gateway's delivery
    reports reach the demo (the token is added by the sender)."""
    hook = f"{config['PUBLIC_URL'].rstrip('/')}/hooks/sms/{account_id}"
    with write(db):
        account_store.set_settings(db, account_id, {**settings, "callback_url": hook})
