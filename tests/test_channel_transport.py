"""One table of transport failures run against every HTTP channel client, over real HTTP on
loopback to the fake servers (``tests.fakes``): what each client makes of a refused
connection, a server that hangs past the read deadline, a 5xx page, a 429 with or without
Retry-After, a redirect and an HTML page where JSON was expected.

The classification is ``alerts.channels.http``'s (``transport_outcome``, ``foreign_answer``)
or the client's own status mapping; a row says what the engine must be told. Where the
channels differ, the row says so per channel: that difference is the documented behaviour
of today, and a change to it should show here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Reaction
from alerts.channels import facebook
from alerts.channels import sms
from alerts.channels import telegram
from alerts.channels import webhook
from alerts.channels import zalo
from alerts.channels.webhook_signing import new_secret
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import facebook as render_facebook
from alerts.render import webhook as render_webhook
from alerts.render import zalo as render_zalo
from tests.channel_helpers import closed_server
from tests.channel_helpers import http_client
from tests.fakes import esms as fake_esms
from tests.fakes import graph as fake_graph
from tests.fakes import hooks as fake_hooks
from tests.fakes import telegram as fake_telegram
from tests.fakes import zalo as fake_zalo
from tests.render_samples import sample_message

WEBHOOK_SECRET = new_secret()
ELSEWHERE = "https://elsewhere.example/moved"


@dataclass(frozen=True)
class Channel:
    """How to send one message through a channel client to its fake (``fake`` names the
    fake's queue in ``FakeState``; ``target`` is "broadcast" or a resident's address)."""

    fake: str
    send: Callable
    account: Callable[[object], Account]
    target: str
    rendering: Callable[[], Rendering]

    def item(self, name: str) -> Item:
        return Item(f"7-1-{name}-{self.target}", self.target, self.rendering())


def _sample(render: Callable) -> Callable[[], Rendering]:
    """Return a maker of the channel's own rendering of the sample warning."""
    return lambda: render(sample_message(), RenderSettings())


def _sms_account(server) -> Account:
    secrets = {"api_key": fake_esms.API_KEY, "secret_key": fake_esms.SECRET_KEY}
    return Account(2, "sms", f"{server.url}/esms", {"brandname": "CONGAN_DEMO"}, secrets)


def _telegram_account(server) -> Account:
    settings = {"chat_id": "-1001234567890"}
    secrets = {"bot_token": fake_telegram.TOKEN}
    return Account(1, "telegram", f"{server.url}/telegram", settings, secrets)


def _facebook_account(server) -> Account:
    settings = {"page_id": fake_graph.PAGE_ID}
    secrets = {"access_token": fake_graph.PAGE_TOKEN}
    return Account(5, "facebook", f"{server.url}/graph", settings, secrets)


def _zalo_account(server) -> Account:
    base = f"{server.url}/zalo"
    settings = {"app_id": fake_zalo.APP_ID, "oauth_url": base}
    secrets = {
        "access_token": fake_zalo.ACCESS_TOKEN,
        "refresh_token": fake_zalo.REFRESH_TOKEN,
        "secret_key": fake_zalo.SECRET_KEY,
        "expires_at": "2026-12-02T01:30:00+00:00",
    }
    return Account(3, "zalo", base, settings, secrets)


def _webhook_account(server) -> Account:
    url = f"{server.url}/hooks/newsroom"
    return Account(4, "webhook", "", {"url": url}, {"secret": WEBHOOK_SECRET})


SMS_TEXT = {"text": "CA PHUONG: Canh bao lua dao. Goi 113."}
CHANNELS = {
    "sms": Channel(
        "esms",
        sms.send,
        _sms_account,
        "+84901888484",
        lambda: Rendering("sms", "text/plain", SMS_TEXT),
    ),
    "telegram": Channel(
        "telegram",
        telegram.send,
        _telegram_account,
        "broadcast",
        lambda: Rendering("telegram", "text/html", {"text": "x"}),
    ),
    "facebook": Channel(
        "graph", facebook.send, _facebook_account, "broadcast", _sample(render_facebook.render)
    ),
    "zalo": Channel(
        "zalo", zalo.send, _zalo_account, "5833012299461200001", _sample(render_zalo.render)
    ),
    "webhook": Channel(
        "hooks", webhook.send, _webhook_account, "broadcast", _sample(render_webhook.render)
    ),
}


@dataclass(frozen=True)
class Case:
    """A transport failure, and the reaction and start of the detail every channel must report
    for it; ``reactions`` and ``details`` hold the channels that report otherwise."""

    failure: dict | None  # queued on the fake; None: the server's port is closed
    reaction: Reaction
    detail: str
    retry_after: float | None = None  # the wait a RETRY_AFTER carries
    reactions: dict[str, Reaction] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)

    def expected(self, channel: str) -> tuple[Reaction, str]:
        return self.reactions.get(channel, self.reaction), self.details.get(channel, self.detail)


def outage(status: int) -> Case:
    """An HTML error page with a 5xx status: retried later, whoever answers."""
    return Case(
        {"kind": "http", "status": status},
        Reaction.RETRY_BACKOFF,
        f"HTTP {status}",
        # Graph and Zalo say the body was not their JSON; Telegram gives the reason phrase.
        details={
            "facebook": f"HTTP {status}, not JSON",
            "zalo": f"HTTP {status}, not JSON",
            "telegram": "",
        },
    )


CASES = {
    "refused": Case(None, Reaction.RETRY_BACKOFF, "not sent: ConnectError"),
    "hang": Case({"kind": "hang", "seconds": 1.5}, Reaction.UNKNOWN, "no answer: ReadTimeout"),
    "500": outage(500),
    "502": outage(502),
    "503": outage(503),
    "429 with Retry-After": Case(
        {"kind": "http", "status": 429, "retry_after": 30},
        Reaction.RETRY_AFTER,
        "",
        retry_after=30.0,
    ),
    "429 without Retry-After": Case({"kind": "http", "status": 429}, Reaction.RETRY_BACKOFF, ""),
    # Only Graph, Zalo (``http.foreign_answer``) and the webhook read a 503's Retry-After.
    "503 with Retry-After": Case(
        {"kind": "http", "status": 503, "retry_after": 7},
        Reaction.RETRY_AFTER,
        "",
        retry_after=7.0,
        reactions={"sms": Reaction.RETRY_BACKOFF, "telegram": Reaction.RETRY_BACKOFF},
    ),
    # Never followed: the engine's client has redirects off. A provider's API that redirects
    # means a wrong base URL (the channel is disabled); a webhook gives that one delivery up,
    # as Standard Webhooks says.
    "redirect": Case(
        {"kind": "http", "status": 302, "location": ELSEWHERE},
        Reaction.DISABLE_CHANNEL,
        "HTTP 302",
        reactions={"webhook": Reaction.GIVE_UP},
        details={"telegram": "", "webhook": "HTTP 302 FOUND: a redirect"},
    ),
    # A proxy's page where the API's JSON belongs: Graph and Zalo retry; the SMS gateway and
    # Telegram may have taken the message (UNKNOWN); for a webhook any 2xx is delivered.
    "HTML with 200": Case(
        {"kind": "malformed"},
        Reaction.RETRY_BACKOFF,
        "HTTP 200, not JSON",
        reactions={"sms": Reaction.UNKNOWN, "telegram": Reaction.UNKNOWN, "webhook": Reaction.OK},
        details={
            "sms": "a 2xx answer without CodeResult",
            "telegram": "a 2xx answer that is not the Bot API's",
            "webhook": "HTTP 200",
        },
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("name", CHANNELS)
async def test_each_channel_reacts_to_each_transport_failure(fake_channels, name, case):
    channel = CHANNELS[name]
    fake_hooks.register(fake_channels.state, "newsroom", WEBHOOK_SECRET)
    server = fake_channels if case.failure else closed_server()
    if case.failure:
        fake_channels.state.fail(channel.fake, **case.failure)
    account = channel.account(server)
    # A read deadline well inside the hang, a connect deadline well above loopback's.
    async with http_client(2.0, read=0.5) as http:
        outcome = await channel.send(http, account, channel.item(name))
    reaction, detail = case.expected(name)
    assert outcome.reaction is reaction, outcome
    assert outcome.detail.startswith(detail), outcome
    assert outcome.retry_after == (case.retry_after if reaction is Reaction.RETRY_AFTER else None)
    if case.failure and case.failure["kind"] == "http":
        assert outcome.status_code == case.failure["status"]
    if case.failure:
        assert len(fake_channels.state.recorded(channel.fake)) == 1  # sent once, nothing followed
    assert "elsewhere" not in outcome.detail
    for secret in account.secrets.values():
        assert secret not in repr(outcome)
