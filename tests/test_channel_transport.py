"""One table of transport failures run against every HTTP channel client, over real HTTP on
loopback to the fake servers (``tests.fakes``): what each client makes of a refused
connection, a server that hangs past the read deadline (once, or in the fakes' "hang" mode),
one that trickles its answer, closes without one, a 5xx page, a 429 or 503 with or without
Retry-After, a redirect and an HTML page where JSON was expected; and of each provider's own
rate-limit answer (the fakes' "rate-limit" mode).

Every send runs as the engine runs it, within ``Deadlines.within`` (an attempt past its
deadline is UNKNOWN, alerts/delivery/sending.py), and must end within that deadline. The
classification is ``alerts.channels.http``'s (``transport_outcome``, ``foreign_answer``,
``told_wait``) or the client's own status mapping; a row says what the engine must be told.
Where the channels differ, the row says so per channel, and docs/channels.md says why."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels import facebook
from alerts.channels import sms
from alerts.channels import telegram
from alerts.channels import webhook
from alerts.channels import zalo
from alerts.channels.webhook_signing import new_secret
from alerts.delivery.deadlines import Deadlines
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
DEADLINE = 1.0  # the attempt's total deadline; the read timeout is half of it
PAST_DEADLINE = "no answer within the deadline"


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

    failure: dict | None  # queued on the fake ("mode": its mode); None: the port is closed
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
    "hang mode": Case({"mode": "hang"}, Reaction.UNKNOWN, "no answer: ReadTimeout"),
    # Headers at once, then a byte each 0.1 s: no read timeout fires, the deadline ends it.
    # A webhook's answer is its status (a 204 has no body), so it is whole at once.
    "trickle mode": Case(
        {"mode": "trickle", "seconds": 0.1},
        Reaction.UNKNOWN,
        PAST_DEADLINE,
        reactions={"webhook": Reaction.OK},
        details={"webhook": "HTTP 204"},
    ),
    "closed without an answer": Case({"kind": "close"}, Reaction.UNKNOWN, "no answer: "),
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
    # A proxy's outage page naming a wait: every channel waits as told (http.told_wait).
    "503 with Retry-After": Case(
        {"kind": "http", "status": 503, "retry_after": 7},
        Reaction.RETRY_AFTER,
        "",
        retry_after=7.0,
    ),
    "502 with Retry-After": Case(
        {"kind": "http", "status": 502, "retry_after": 4},
        Reaction.RETRY_AFTER,
        "",
        retry_after=4.0,
    ),
    # Never followed (the engine's client has redirects off), and the same for every later
    # request of the account: its base URL or endpoint is wrong, so the account stops and an
    # operator is told, whichever channel (docs/channels.md#answers-from-something-else).
    "redirect": Case(
        {"kind": "http", "status": 302, "location": ELSEWHERE},
        Reaction.DISABLE_CHANNEL,
        "HTTP 302",
        details={"telegram": "", "webhook": "HTTP 302 FOUND: a redirect"},
    ),
    # A proxy's page where the API's JSON belongs: the provider may have taken the message
    # behind it, so UNKNOWN (a possible duplicate); for a webhook any 2xx is delivered.
    "HTML with 200": Case(
        {"kind": "malformed"},
        Reaction.UNKNOWN,
        "HTTP 200, not JSON",
        reactions={"webhook": Reaction.OK},
        details={
            "sms": "a 2xx answer without CodeResult",
            "telegram": "a 2xx answer that is not the Bot API's",
            "webhook": "HTTP 200",
        },
    ),
}


async def attempt(channel: Channel, account: Account, item: Item) -> tuple[Outcome, float]:
    """Send as the engine does, within its deadline (alerts/delivery/sending.py: past it,
    the outcome is UNKNOWN); return the outcome and the seconds it took."""
    deadlines = Deadlines()
    began = time.monotonic()
    # A read deadline well inside the hang, a connect deadline well above loopback's.
    async with http_client(2.0, read=DEADLINE / 2) as http:
        try:
            outcome = await deadlines.within(DEADLINE, channel.send(http, account, item))
        except TimeoutError:
            outcome = Outcome(Reaction.UNKNOWN, PAST_DEADLINE)
        finally:
            await deadlines.stop()
    return outcome, time.monotonic() - began


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("name", CHANNELS)
async def test_each_channel_reacts_to_each_transport_failure(fake_channels, name, case):
    channel = CHANNELS[name]
    fake_hooks.register(fake_channels.state, "newsroom", WEBHOOK_SECRET)
    server = fake_channels if case.failure else closed_server()
    if case.failure and "mode" in case.failure:
        fake_channels.state.set_mode(channel.fake, **case.failure)
    elif case.failure:
        fake_channels.state.fail(channel.fake, **case.failure)
    account = channel.account(server)
    outcome, seconds = await attempt(channel, account, channel.item(name))
    assert seconds < DEADLINE + 0.2
    reaction, detail = case.expected(name)
    assert outcome.reaction is reaction, outcome
    assert outcome.detail.startswith(detail), outcome
    assert outcome.retry_after == (case.retry_after if reaction is Reaction.RETRY_AFTER else None)
    if case.failure and case.failure.get("kind") == "http":
        assert outcome.status_code == case.failure["status"]
    if case.failure:
        assert len(fake_channels.state.recorded(channel.fake)) == 1  # sent once, nothing followed
    assert "elsewhere" not in outcome.detail
    for secret in account.secrets.values():
        assert secret not in repr(outcome)


# What each provider answers past its rate limit (tests/fakes/modes.py), as the engine must
# be told it: Zalo's -32 names no wait (its window is a minute that it does not say the
# start of), Graph names minutes in a usage header, the others seconds.
RATE_LIMITED = {
    "sms": (Reaction.RETRY_AFTER, 1.0),
    "telegram": (Reaction.RETRY_AFTER, 1.0),
    "facebook": (Reaction.RETRY_AFTER, 300.0),
    "zalo": (Reaction.RETRY_BACKOFF, None),
    "webhook": (Reaction.RETRY_AFTER, 1.0),
}


@pytest.mark.parametrize("name", CHANNELS)
async def test_each_channel_reads_its_providers_rate_limit_answer(fake_channels, name):
    channel = CHANNELS[name]
    fake_hooks.register(fake_channels.state, "newsroom", WEBHOOK_SECRET)
    fake_channels.state.set_mode(channel.fake, "rate-limit", per_second=1)
    account = channel.account(fake_channels)
    first, _ = await attempt(channel, account, channel.item(name))
    second, _ = await attempt(channel, account, channel.item(f"{name}-2"))
    assert first.reaction is Reaction.OK, first
    assert (second.reaction, second.retry_after) == RATE_LIMITED[name], second
    assert [r.status for r in fake_channels.state.exchanges(channel.fake)][-1] in (200, 400, 429)
