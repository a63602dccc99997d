"""The Telegram client against the fake Bot API, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Reaction
from alerts.channels import telegram
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import telegram as render_telegram
from tests.channel_helpers import closed_port
from tests.fakes import telegram as fake_telegram
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

TOKEN = fake_telegram.TOKEN
CHANNEL_CHAT = "-1001234567890"


def account(fake, token: str = TOKEN, base_url: str | None = None) -> Account:
    return Account(
        id=1,
        channel="telegram",
        base_url=base_url or f"{fake.url}/telegram",
        settings={"chat_id": CHANNEL_CHAT},
        secrets={"bot_token": token},
    )


def item(rendering: Rendering, target: str = "broadcast") -> Item:
    return Item(idempotency_key=f"7-1-telegram-{target}", target=target, rendering=rendering)


def text(*parts: str) -> Rendering:
    names = ["text"] + [f"text_{i}" for i in range(2, len(parts) + 1)]
    return Rendering("telegram", "text/html", dict(zip(names, parts, strict=True)))


def sent(fake) -> list[dict]:
    return [r.json for r in fake.state.recorded("telegram") if r.path.endswith("/sendMessage")]


async def test_it_posts_the_rendering_to_the_units_channel_in_html(fake_channels, http):
    rendering = render_telegram.render(sample_message(), RenderSettings())
    outcome = await telegram.send(http, account(fake_channels), item(rendering))
    assert outcome.reaction == Reaction.OK and outcome.provider_id == "1"
    (request,) = fake_channels.state.recorded("telegram")
    assert request.method == "POST" and request.path == f"/telegram/bot{TOKEN}/sendMessage"
    assert request.json == {
        "chat_id": int(CHANNEL_CHAT),
        "text": rendering.parts["text"],
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    assert fake_channels.state.extra["telegram_sent"][0]["chat_id"] == CHANNEL_CHAT


async def test_it_sends_to_a_residents_own_chat(fake_channels, http):
    outcome = await telegram.send(
        http, account(fake_channels), item(text("<b>Cảnh báo</b>"), "777000111")
    )
    assert outcome.reaction == Reaction.OK
    assert sent(fake_channels)[0]["chat_id"] == 777000111


async def test_it_sends_every_part_of_a_split_rendering_in_order(fake_channels, http):
    paragraph = "Đối tượng <giả danh> & lừa đảo người dân qua điện thoại và mạng xã hội. " * 14
    description = "\n\n".join([paragraph.strip()] * 10)
    assert len(description) >= 10000
    message = replace(sample_message(), content=sample_content(description=description))
    rendering = render_telegram.render(message, RenderSettings())
    names = telegram.part_names(rendering)
    assert len(names) >= 3 and names == list(rendering.parts)
    outcome = await telegram.send(http, account(fake_channels), item(rendering))
    assert outcome.reaction == Reaction.OK
    assert outcome.provider_id == ",".join(str(i) for i in range(1, len(names) + 1))
    assert [body["text"] for body in sent(fake_channels)] == [rendering.parts[n] for n in names]


@pytest.mark.parametrize(
    "message",
    [
        sample_message(),
        sample_update(),
        sample_cancel(),
        replace(
            sample_message(),
            content=sample_content(
                headline="<b>Giả</b> danh & lừa <i>",
                description='Nhắn "<a href=x>bấm</a>" & <script>alert(1)</script> &amp; &foo;',
                instruction="Gõ <tg-spoiler> hoặc <br> đều vô hại. a < b > c",
            ),
        ),
    ],
    ids=["alert", "update", "cancel", "hostile"],
)
async def test_the_fake_accepts_every_rendering_and_no_hostile_html_gets_through(
    fake_channels, http, message
):
    rendering = render_telegram.render(message, RenderSettings())
    outcome = await telegram.send(http, account(fake_channels), item(rendering))
    assert outcome.reaction == Reaction.OK, outcome.detail
    body = sent(fake_channels)[0]["text"]
    assert "<script>" not in body and "<br>" not in body and "&foo;" not in body
    shown = fake_telegram.parse_html(body)
    assert message.content.headline in shown


@pytest.mark.parametrize(
    "markup, description",
    [
        ("a < b", "can't parse entities"),
        ("Tom & Jerry", "can't parse entities"),
        ("dòng 1<br>dòng 2", 'Unsupported start tag "br"'),
        ("<b>đậm</i>", "can't parse entities"),
        ("<b>không đóng", "Can't find end tag"),
        ("&nbsp;", "Unsupported HTML entity"),
        ('<span class="x">a</span>', "tg-spoiler"),
        ("<b> </b>", "message text is empty"),
        ("ж" * 4097, "message is too long"),
        ("😀" * 2049, "message is too long"),
    ],
)
async def test_the_fake_refuses_what_telegram_refuses_and_the_client_gives_up(
    fake_channels, http, markup, description
):
    outcome = await telegram.send(http, account(fake_channels), item(text(markup), "777000111"))
    assert outcome.reaction == Reaction.GIVE_UP and outcome.status_code == 400
    assert description in outcome.detail


async def test_the_fake_counts_the_limit_after_entity_parsing(fake_channels, http):
    markup = "<b>" + "&amp;" * 4096 + "</b>"
    outcome = await telegram.send(http, account(fake_channels), item(text(markup), "777000111"))
    assert outcome.reaction == Reaction.OK


@pytest.mark.parametrize(
    "status, target, reaction, words",
    [
        ("blocked", "777000111", Reaction.DISABLE_SUBSCRIBER, "bot was blocked by the user"),
        ("deactivated", "777000111", Reaction.DISABLE_SUBSCRIBER, "user is deactivated"),
        ("unknown", "777000111", Reaction.DISABLE_SUBSCRIBER, "chat not found"),
        ("not_member", "broadcast", Reaction.DISABLE_CHANNEL, "not a member of the channel"),
        ("kicked", "broadcast", Reaction.DISABLE_CHANNEL, "bot was kicked"),
        ("unknown", "broadcast", Reaction.DISABLE_CHANNEL, "chat not found"),
    ],
)
async def test_a_chat_that_cannot_be_reached_disables_the_subscriber_or_the_channel(
    fake_channels, http, status, target, reaction, words
):
    chat = CHANNEL_CHAT if target == "broadcast" else target
    fake_channels.state.extra["telegram_chats"] = {chat: status}
    outcome = await telegram.send(http, account(fake_channels), item(text("<b>x</b>"), target))
    assert outcome.reaction == reaction and words in outcome.detail


async def test_a_wrong_token_disables_the_channel(fake_channels, http):
    outcome = await telegram.send(
        http, account(fake_channels, token="123456:WRONG"), item(text("x"))
    )
    assert outcome.reaction == Reaction.DISABLE_CHANNEL
    assert outcome.status_code == 401 and outcome.detail == "Unauthorized"


@pytest.mark.parametrize(
    "failure, reaction",
    [
        ({"kind": "error", "status": 500, "description": "Internal Server Error"},
         Reaction.RETRY_BACKOFF),
        ({"kind": "error", "status": 400, "description": "Bad Request: can't parse entities: x"},
         Reaction.GIVE_UP),
        ({"kind": "error", "status": 400, "description": "Bad Request: message is too long"},
         Reaction.GIVE_UP),
        ({"kind": "error", "status": 403, "description": "Forbidden: bot was blocked by the user"},
         Reaction.DISABLE_SUBSCRIBER),
        ({"kind": "error", "status": 400, "description": "Bad Request: group chat was upgraded",
          "parameters": {"migrate_to_chat_id": -1009876543210}}, Reaction.DISABLE_SUBSCRIBER),
    ],
)  # fmt: skip
async def test_queued_failures_are_classified(fake_channels, http, failure, reaction):
    fake_channels.state.fail("telegram", **failure)
    outcome = await telegram.send(http, account(fake_channels), item(text("x"), "777000111"))
    assert outcome.reaction == reaction


async def test_too_many_requests_waits_the_seconds_telegram_says(fake_channels, http):
    fake_channels.state.fail("telegram", kind="429", retry_after=17)
    outcome = await telegram.send(http, account(fake_channels), item(text("x")))
    assert outcome.reaction == Reaction.RETRY_AFTER and outcome.retry_after == 17.0
    assert outcome.status_code == 429 and "retry after 17" in outcome.detail


async def test_the_fake_allows_one_message_a_second_per_chat(fake_channels, http):
    first = await telegram.send(http, account(fake_channels), item(text("một"), "777000111"))
    second = await telegram.send(http, account(fake_channels), item(text("hai"), "777000111"))
    other = await telegram.send(http, account(fake_channels), item(text("ba"), "777000222"))
    assert first.reaction == Reaction.OK and other.reaction == Reaction.OK
    assert second.reaction == Reaction.RETRY_AFTER and second.retry_after == 1.0


async def test_the_fake_allows_about_thirty_messages_a_second_per_bot(fake_channels, http):
    async def one(n):
        return await telegram.send(
            http, account(fake_channels), item(text(f"tin {n}"), str(900000 + n))
        )

    outcomes = await asyncio.gather(*(one(n) for n in range(40)))
    limited = [o for o in outcomes if o.reaction == Reaction.RETRY_AFTER]
    assert limited and all(o.retry_after >= 1 for o in limited)
    assert {o.reaction for o in outcomes} == {Reaction.OK, Reaction.RETRY_AFTER}
    assert sum(o.reaction == Reaction.OK for o in outcomes) >= 30


async def test_the_fake_allows_twenty_messages_a_minute_to_a_group(fake_channels, http):
    fake_channels.state.limits["telegram:chat"] = 0
    outcomes = [
        await telegram.send(http, account(fake_channels), item(text(f"{n}"))) for n in range(21)
    ]
    assert all(o.reaction == Reaction.OK for o in outcomes[:20])
    assert outcomes[20].reaction == Reaction.RETRY_AFTER and outcomes[20].retry_after > 50


async def test_a_later_part_that_fails_is_reported_as_partial(fake_channels, http, monkeypatch):
    monkeypatch.setattr(telegram, "PART_INTERVAL", 0)
    outcome = await telegram.send(http, account(fake_channels), item(text("<b>một</b>", "hai<br>")))
    assert outcome.reaction == Reaction.GIVE_UP and outcome.provider_id == "1"
    assert outcome.detail.startswith(f"{telegram.PARTIAL}: part 2/2")
    assert "can't parse entities" in outcome.detail


async def test_a_later_part_held_back_long_hands_the_wait_to_the_engine(fake_channels, http):
    fake_channels.state.limits["telegram:group_per_minute"] = 1
    outcome = await telegram.send(http, account(fake_channels), item(text("một", "hai")))
    assert outcome.reaction == Reaction.RETRY_AFTER and outcome.retry_after > 50
    assert outcome.detail.startswith("partial: part 2/2") and outcome.provider_id == "1"


async def test_a_later_part_held_back_briefly_is_resent_after_the_wait(
    fake_channels, http, monkeypatch
):
    monkeypatch.setattr(telegram, "PART_INTERVAL", 0)
    outcome = await telegram.send(
        http, account(fake_channels), item(text("một", "hai"), "777000111")
    )
    assert outcome.reaction == Reaction.OK and outcome.provider_id == "1,2"
    assert [body["text"] for body in sent(fake_channels)] == ["một", "hai", "hai"]


@pytest.mark.parametrize(
    "base_url",
    [None, "http://127.0.0.1:{port}/telegram", "ftp://127.0.0.1/telegram", "http://[::1"],
)
async def test_the_bot_token_never_appears_in_an_outcome(fake_channels, http, base_url):
    if base_url:
        base_url = base_url.format(port=closed_port())
    token = "987654:AAH-very-secret_token"
    fake_channels.state.extra["telegram_token"] = token
    fake_channels.state.fail(
        "telegram", kind="error", status=400, description=f"Bad Request: {token}"
    )
    outcome = await telegram.send(http, account(fake_channels, token, base_url), item(text("x")))
    assert outcome.reaction != Reaction.OK
    assert "987654" not in repr(outcome) and "very-secret" not in repr(outcome)
    assert "very-secret" not in repr(account(fake_channels, token))


async def test_missing_credentials_disable_the_channel_without_a_request(fake_channels, http):
    broken = replace(account(fake_channels), secrets={})
    outcome = await telegram.send(http, broken, item(text("x")))
    assert outcome.reaction == Reaction.DISABLE_CHANNEL
    assert fake_channels.state.recorded("telegram") == []


def test_get_me_answers_for_the_valid_token_only(fake_channels, plain_http):
    ok = plain_http.get(f"{fake_channels.url}/telegram/bot{TOKEN}/getMe").json()
    assert ok["ok"] is True and ok["result"]["id"] == 123456 and ok["result"]["is_bot"]
    wrong = plain_http.get(f"{fake_channels.url}/telegram/bot1:x/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_a_429_carries_retry_after_in_the_body_and_the_header(fake_channels, plain_http):
    fake_channels.state.fail("telegram", kind="429", retry_after=3)
    url = f"{fake_channels.url}/telegram/bot{TOKEN}/sendMessage"
    response = plain_http.post(url, json={"chat_id": 1, "text": "x"})
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
