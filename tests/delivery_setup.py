"""Channel accounts and subscribers pointing at the fake servers, for delivery tests."""

from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace

from alerts.audit import Actor
from alerts.db import write
from alerts.delivery import channel_accounts as accounts
from alerts.delivery import policy
from alerts.delivery.engine import Dispatcher
from alerts.store import subscriptions as subscription_store
from tests.builders import CONFIG
from tests.fakes import esms
from tests.fakes import graph
from tests.fakes import hooks
from tests.fakes import telegram
from tests.fakes import zalo
from tests.fakes.server import FakeChannels
from tests.fakes.smtp import FakeSMTP

OPERATOR = Actor("cli", "bca")
WEBHOOK_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# The channels' policies with a 1.5 s attempt deadline, so a hanging fake fails fast.
FAST = {c: replace(p, deadline=1.5) for c, p in policy.POLICIES.items()}


def dispatch_once(db, config=CONFIG) -> None:
    """Run one drain of the engine over what is due, as one worker tick does."""
    engine = Dispatcher(config, rng=random.Random(7), rules=FAST)
    try:
        engine.dispatch_due(db)
    finally:
        engine.close()


@dataclass
class Fakes:
    """Every fake server of one test, sharing one state."""

    url: str
    smtp_port: int
    state: object


@contextmanager
def running_fakes():
    """Start the HTTP fakes and the SMTP fake, sharing one state."""
    with FakeChannels() as http, FakeSMTP(http.state) as smtp:
        hooks.register(http.state, "newsroom", WEBHOOK_SECRET)
        yield Fakes(http.url, smtp.port, http.state)


def add_accounts(db, config, fakes: Fakes, unit: str = "ca-01", test: bool = False) -> dict:
    """Give a unit one account per channel on the fakes; return their ids by channel."""
    url = fakes.url
    specs = {
        "telegram": (
            f"{url}/telegram",
            {"chat_id": "@canhbao_test"},
            {"bot_token": telegram.TOKEN},
        ),
        "zalo": (
            f"{url}/zalo",
            {"oauth_url": f"{url}/zalo", "app_id": zalo.APP_ID, "cover_url": f"{url}/cover.jpg"},
            {
                "access_token": zalo.ACCESS_TOKEN,
                "refresh_token": zalo.REFRESH_TOKEN,
                "secret_key": zalo.SECRET_KEY,
                "expires_at": "2099-01-01T00:00:00+00:00",
            },
        ),
        "facebook": (
            f"{url}/graph",
            {"page_id": graph.PAGE_ID},
            {"access_token": graph.PAGE_TOKEN},
        ),
        "sms": (
            f"{url}/esms",
            {"brandname": sorted(esms.BRANDNAMES)[0]},
            {"api_key": esms.API_KEY, "secret_key": esms.SECRET_KEY},
        ),
        "email": (
            f"smtp://127.0.0.1:{fakes.smtp_port}",
            {
                "host": "127.0.0.1",
                "port": str(fakes.smtp_port),
                "from": "Công an <canhbao@bocongan.gov.vn>",
            },
            {},
        ),
        "webhook": (
            f"{url}/hooks/newsroom",
            {"url": f"{url}/hooks/newsroom"},
            {"secret": WEBHOOK_SECRET},
        ),
    }
    return {
        channel: accounts.create_account(
            db,
            config,
            OPERATOR,
            unit_code=unit,
            channel=channel,
            name=f"{channel} {'test' if test else 'live'}",
            base_url=base,
            settings=settings,
            secrets=secrets,
            test_audience=test,
        )
        for channel, (base, settings, secrets) in specs.items()
    }


def subscribe(db, channel: str, address: str, region: str, test: bool = False) -> int:
    """Add an active subscriber (the opt-in flow is the portal's)."""
    with write(db):
        return subscription_store.add_subscription(
            db, channel=channel, address=address, region_code=region, test_audience=test
        )


def subscribe_many(db, channel: str, count: int, region: str, first: int = 0) -> None:
    """Add ``count`` active subscribers of one channel at once (addresses numbered from
    ``first``): a commune's worth in one statement, as a benchmark or fault test needs."""
    address = "'+8491' || printf('%07d', i)" if channel == "sms" else "CAST(700000000 + i AS TEXT)"
    with write(db):
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            " INSERT INTO subscriptions (channel, address, region_code, status, test_audience,"
            f" created_at, confirmed_at) SELECT ?, {address}, ?, 'active', 0,"
            " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00' FROM n",
            [first, first + count - 1, channel, region],
        )
