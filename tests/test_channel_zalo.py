"""The Zalo OA client against the fake Zalo server, over real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Reaction
from alerts.channels import zalo
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render.zalo import render
from tests.channel_helpers import http_client
from tests.fakes import zalo as fake_zalo
from tests.render_samples import HANOI
from tests.render_samples import sample_message

USER_ID = "5833012299461200001"
COVER = "https://canhbao.bocongan.gov.vn/static/cover.jpg"


def make_account(fake, **secrets) -> Account:
    base = f"{fake.url}/zalo"
    settings = {"app_id": fake_zalo.APP_ID, "oauth_url": base, "cover_url": COVER}
    values = {
        "access_token": fake_zalo.ACCESS_TOKEN,
        "refresh_token": fake_zalo.REFRESH_TOKEN,
        "secret_key": fake_zalo.SECRET_KEY,
        "expires_at": "2026-12-02T01:30:00+00:00",
    }
    return Account(3, "zalo", base, settings, {**values, **secrets})


def resident_item(text: str | None = None) -> Item:
    rendering = render(sample_message(), RenderSettings())
    if text is not None:
        rendering = dataclasses.replace(rendering, parts={"text": text})
    return Item("7-1-zalo-user", USER_ID, rendering)


def broadcast_item() -> Item:
    province = dataclasses.replace(sample_message(), regions=(HANOI,))
    return Item("7-1-zalo-broadcast", "broadcast", render(province, RenderSettings()))


async def no_wait(_seconds: float) -> None:
    """Stands in for asyncio.sleep: the tests do not wait for Zalo's processing."""


def waits_for(waits: list):
    """Return a stand-in for asyncio.sleep that notes each wait asked for."""

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return sleep


def paths(fake) -> list[str]:
    return [r.path for r in fake.state.recorded("zalo")]


async def test_it_sends_a_consultation_message(fake_channels, http):
    item = resident_item()

    outcome = await zalo.send(http, make_account(fake_channels), item)

    assert outcome.reaction is Reaction.OK
    sent = fake_zalo.oa(fake_channels.state).messages
    assert outcome.provider_id == sent[0]["message_id"]
    request = fake_channels.state.recorded("zalo")[0]
    assert request.path == "/zalo/v3.0/oa/message/cs"
    # Recorded as WSGI spells it; the fake refuses the dashed spelling (see below).
    assert request.headers["access-token"] == fake_zalo.ACCESS_TOKEN
    assert "authorization" not in request.headers
    assert request.json == {
        "recipient": {"user_id": USER_ID},
        "message": {"text": item.rendering.parts["text"]},
    }


@pytest.mark.parametrize("id_key", ["id", "article_id"])
async def test_it_broadcasts_an_article_after_verifying_it(fake_channels, http, id_key):
    fake_zalo.oa(fake_channels.state).id_key = id_key
    item = broadcast_item()
    waits = []

    outcome = await zalo.send(http, make_account(fake_channels), item, sleep=waits_for(waits))

    assert outcome.reaction is Reaction.OK
    assert outcome.provider_id == fake_zalo.oa(fake_channels.state).broadcasts[0]["message_id"]
    assert paths(fake_channels) == [
        "/zalo/v2.0/article/create",
        "/zalo/v2.0/article/verify",
        "/zalo/v2.0/article/verify",
        "/zalo/v2.0/oa/message",
    ]
    assert waits == [zalo.VERIFY_WAIT]  # one -214, one pause
    create, verify, _, broadcast = fake_channels.state.recorded("zalo")
    assert create.json["cover"] == {"cover_type": "photo", "photo_url": COVER, "status": "show"}
    assert create.json["title"] == render_article(item)["title"]
    assert verify.json == {"token": "tok_1"}
    element = broadcast.json["message"]["attachment"]["payload"]["elements"][0]
    assert element == {"media_type": "article", "attachment_id": "art_1"}
    assert broadcast.json["recipient"] == {"target": {"gender": "0"}}


def render_article(item: Item) -> dict:
    return json.loads(item.rendering.parts["article"])


async def test_it_keeps_the_article_cover_of_the_warning(fake_channels, http):
    image = "https://canhbao.bocongan.gov.vn/img/7.jpg"
    message = dataclasses.replace(sample_message(), regions=(HANOI,), image_url=image)
    item = Item("k", "broadcast", render(message, RenderSettings()))

    outcome = await zalo.send(http, make_account(fake_channels), item, sleep=no_wait)

    assert outcome.reaction is Reaction.OK
    assert fake_channels.state.recorded("zalo")[0].json["cover"]["photo_url"] == image


async def test_it_gives_up_polling_an_article_that_stays_in_processing(fake_channels, http):
    fake_zalo.oa(fake_channels.state).verify_pending = 10

    outcome = await zalo.send(http, make_account(fake_channels), broadcast_item(), sleep=no_wait)

    assert outcome.reaction is Reaction.RETRY_BACKOFF
    assert "-214" in outcome.detail
    assert paths(fake_channels).count("/zalo/v2.0/article/verify") == zalo.VERIFY_TRIES
    assert fake_zalo.oa(fake_channels.state).broadcasts == []


async def test_it_refuses_a_broadcast_it_cannot_build_without_asking_zalo(fake_channels, http):
    commune = Item("k", "broadcast", render(sample_message(), RenderSettings()))
    coverless = dataclasses.replace(
        make_account(fake_channels), settings={"app_id": fake_zalo.APP_ID}
    )

    assert (
        await zalo.send(http, make_account(fake_channels), commune)
    ).reaction is Reaction.GIVE_UP
    assert (await zalo.send(http, coverless, broadcast_item())).reaction is Reaction.GIVE_UP
    assert paths(fake_channels) == []


@pytest.mark.parametrize(
    ("code", "reaction"),
    [
        (-32, Reaction.RETRY_BACKOFF),
        (-200, Reaction.RETRY_BACKOFF),
        (-201, Reaction.GIVE_UP),
        (-210, Reaction.GIVE_UP),
        (-240, Reaction.GIVE_UP),
        (-213, Reaction.DISABLE_SUBSCRIBER),
        (-217, Reaction.DISABLE_SUBSCRIBER),
        (-227, Reaction.DISABLE_SUBSCRIBER),
        (-216, Reaction.REFRESH_TOKEN),
        (-220, Reaction.REFRESH_TOKEN),
        (-204, Reaction.DISABLE_CHANNEL),
        (-211, Reaction.DISABLE_CHANNEL),
        (-224, Reaction.DISABLE_CHANNEL),
        (-321, Reaction.DISABLE_CHANNEL),
        (-999, Reaction.RETRY_BACKOFF),  # undocumented: bounded retries, not dropped
    ],
)
async def test_it_classifies_zalo_error_codes_from_the_body(fake_channels, http, code, reaction):
    fake_channels.state.fail("zalo", kind="error", code=code)

    outcome = await zalo.send(http, make_account(fake_channels), resident_item())

    assert outcome.reaction is reaction
    assert outcome.status_code == 200
    assert f"Zalo error {code}" in outcome.detail


@pytest.mark.parametrize(
    ("message", "reaction"),
    [
        ("Official Account has not authorized this API", Reaction.DISABLE_CHANNEL),
        ("reach the limit quota create article", Reaction.GIVE_UP),
    ],
)
async def test_it_reads_the_message_of_the_two_faced_code_223(
    fake_channels, http, message, reaction
):
    fake_channels.state.fail("zalo", kind="error", code=-223, message=message)

    outcome = await zalo.send(http, make_account(fake_channels), broadcast_item(), sleep=no_wait)

    assert outcome.reaction is reaction


async def test_it_waits_until_six_in_the_morning_after_a_night_refusal(fake_channels, http):
    fake_channels.state.fail("zalo", kind="error", code=-234)

    outcome = await zalo.send(http, make_account(fake_channels), resident_item())

    assert outcome.reaction is Reaction.RETRY_AFTER
    assert 0 < outcome.retry_after <= 24 * 3600
    resume = (datetime.now(UTC) + timedelta(seconds=outcome.retry_after)).astimezone(zalo.VIETNAM)
    six = resume.replace(hour=6, minute=0, second=0, microsecond=0)
    assert abs((resume - six).total_seconds()) < 5


async def test_the_fake_answers_recipient_states_like_zalo(fake_channels, http):
    oa = fake_zalo.oa(fake_channels.state)
    account = make_account(fake_channels)
    oa.users["111"] = "unfollowed"
    oa.users["222"] = "banned"
    oa.stale("333")
    long_text = resident_item("x" * 2001)

    async def send(target: str, item: Item | None = None):
        item = dataclasses.replace(item or resident_item(), target=target)
        return await zalo.send(http, account, item)

    assert (await send("111")).reaction is Reaction.DISABLE_SUBSCRIBER
    assert (await send("222")).reaction is Reaction.DISABLE_SUBSCRIBER
    assert (await send("333")).reaction is Reaction.GIVE_UP  # -230: no interaction in 7 days
    assert "-230" in (await send("333")).detail
    assert "-210" in (await send(USER_ID, long_text)).detail
    assert (await send(USER_ID)).reaction is Reaction.OK


async def test_the_fake_enforces_the_per_minute_limit_with_headers(fake_channels, http):
    fake_zalo.oa(fake_channels.state).per_minute = 1
    account = make_account(fake_channels)

    first = await zalo.send(http, account, resident_item())
    second = await zalo.send(http, account, resident_item())

    assert first.reaction is Reaction.OK
    assert second.reaction is Reaction.RETRY_BACKOFF
    assert "-32" in second.detail
    answer = await http.post(
        f"{fake_channels.url}/zalo/v3.0/oa/message/cs",
        headers={"access_token": fake_zalo.ACCESS_TOKEN},
        json={},
    )
    assert answer.json()["error"] == -32
    assert answer.headers["X-RateLimit-Limit"] == "1"
    assert answer.headers["X-RateLimit-Remain"] == "0"


def test_the_fake_validates_request_shapes(fake_channels, plain_http):
    headers = {"access_token": fake_zalo.ACCESS_TOKEN}
    text = {"recipient": {"user_id": USER_ID}, "message": {"text": "Cảnh báo"}}
    dashed = {"access-token": fake_zalo.ACCESS_TOKEN}
    answer = plain_http.post(
        f"{fake_channels.url}/zalo/v3.0/oa/message/cs", headers=dashed, json=text
    )
    assert answer.json() == {"error": -216, "message": "Access token is invalid"}

    def post(path: str, body: dict) -> dict:
        answer = plain_http.post(f"{fake_channels.url}/zalo{path}", headers=headers, json=body)
        assert answer.status_code == 200  # Zalo answers errors with HTTP 200
        return answer.json()

    no_recipient = post("/v3.0/oa/message/cs", {"message": {"text": "Cảnh báo"}})
    assert no_recipient == {"error": -201, "message": "recipient is invalid!"}
    assert post("/v3.0/oa/message/cs", {"recipient": {"user_id": USER_ID}})["error"] == -201
    old_api = {"recipient": {"user_id": USER_ID}, "message": {"text": "x"}}
    assert post("/v2.0/oa/message", old_api)["error"] == -240
    coverless = render_article(broadcast_item())  # the sample warning has no image
    assert post("/v2.0/article/create", coverless)["message"] == "cover is invalid!"
    broadcast = {
        "recipient": {"target": {"cities": "4,9", "gender": 0}},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "article", "attachment_id": "art_404"}],
                },
            }
        },
    }
    assert post("/v2.0/oa/message", broadcast)["message"] == "attachment_id is invalid!"


async def test_an_invalid_token_is_refreshed_once_and_the_old_refresh_token_dies(
    fake_channels, http
):
    stale = make_account(fake_channels, access_token="zalo-access-0")

    first = await zalo.send(http, stale, resident_item())
    pair = await zalo.refresh(http, stale)
    with pytest.raises(zalo.RefreshFailed) as reused:
        await zalo.refresh(http, stale)
    fresh = make_account(fake_channels, **pair)
    second = await zalo.send(http, fresh, resident_item())

    assert first.reaction is Reaction.REFRESH_TOKEN
    assert "-216" in first.detail
    assert pair["access_token"] not in ("zalo-access-0", fake_zalo.ACCESS_TOKEN)
    assert pair["refresh_token"] != fake_zalo.REFRESH_TOKEN
    expires = datetime.fromisoformat(pair["expires_at"])
    assert expires.utcoffset() == timedelta(0)
    assert abs((expires - datetime.now(UTC)) - timedelta(hours=25)) < timedelta(minutes=1)
    assert not reused.value.retryable
    assert "reconnect" in str(reused.value)
    assert second.reaction is Reaction.OK
    exchange = [
        r for r in fake_channels.state.recorded("zalo") if r.path.endswith("/access_token")
    ][0]
    assert exchange.headers["secret-key"] == fake_zalo.SECRET_KEY
    assert urllib.parse.parse_qs(exchange.body.decode()) == {
        "refresh_token": [fake_zalo.REFRESH_TOKEN],
        "app_id": [fake_zalo.APP_ID],
        "grant_type": ["refresh_token"],
    }


async def test_an_expired_token_asks_for_a_refresh(fake_channels, http):
    fake_zalo.oa(fake_channels.state).expire()

    outcome = await zalo.send(http, make_account(fake_channels), resident_item())

    assert outcome.reaction is Reaction.REFRESH_TOKEN
    assert "-220" in outcome.detail


async def test_a_refresh_that_cannot_reach_zalo_may_be_tried_again(fake_channels, http):
    fake_channels.state.fail("zalo", kind="http", status=503)

    with pytest.raises(zalo.RefreshFailed) as failed:
        await zalo.refresh(http, make_account(fake_channels))

    assert failed.value.retryable
    assert (await zalo.refresh(http, make_account(fake_channels)))[
        "access_token"
    ]  # the old one still works


def test_it_knows_when_the_access_token_needs_refreshing():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def account(expires_at: str | None) -> Account:
        secrets = {"expires_at": expires_at} if expires_at else {}
        return Account(3, "zalo", "https://openapi.zalo.me", {}, secrets)

    assert zalo.needs_refresh(account("2026-12-01T12:30:00+00:00"), now)
    assert zalo.needs_refresh(account("2026-12-01T10:00:00+00:00"), now)
    assert not zalo.needs_refresh(account("2026-12-01T14:00:00+00:00"), now)
    assert not zalo.needs_refresh(account("2026-12-01T21:00:00+07:00"), now)
    assert zalo.needs_refresh(account(None), now)
    assert zalo.needs_refresh(account("soon"), now)


async def test_a_hang_before_the_broadcast_step_is_retried_not_unknown(fake_channels):
    fake_channels.state.fail("zalo", kind="hang", seconds=2)  # the article create hangs

    async with http_client(2.0, read=0.5) as http:
        outcome = await zalo.send(http, make_account(fake_channels), broadcast_item())

    assert outcome.reaction is Reaction.RETRY_BACKOFF


async def test_a_page_that_is_not_zalos_is_unknown_only_at_the_broadcast_step(fake_channels, http):
    """Something in front of Zalo answered 200 with a page: at the article steps nobody can
    have been reached (retried), at the broadcast the followers may have been (UNKNOWN)."""
    state = fake_channels.state
    state.fail("zalo", kind="malformed")  # the article create
    early = await zalo.send(http, make_account(fake_channels), broadcast_item(), sleep=no_wait)
    fake_zalo.oa(state).verify_pending = 0
    state.fail("zalo", count=2, kind="hang", seconds=0)  # create and verify go through
    state.fail("zalo", kind="malformed")  # the broadcast
    late = await zalo.send(http, make_account(fake_channels), broadcast_item(), sleep=no_wait)

    assert early.reaction is Reaction.RETRY_BACKOFF
    assert early.detail.startswith("HTTP 200, not JSON")
    assert late.reaction is Reaction.UNKNOWN
    assert paths(fake_channels)[-1] == "/zalo/v2.0/oa/message"


async def test_secrets_never_show_in_repr_details_or_errors(fake_channels, http):
    account = make_account(fake_channels)
    echo = f"access_token {fake_zalo.ACCESS_TOKEN} is invalid"
    fake_channels.state.fail("zalo", kind="error", code=-216, message=echo)
    fake_channels.state.fail("zalo", kind="error", code=-14014, message=fake_zalo.REFRESH_TOKEN)

    outcome = await zalo.send(http, account, resident_item())
    with pytest.raises(zalo.RefreshFailed) as failed:
        await zalo.refresh(http, account)

    for text in (repr(account), outcome.detail, str(failed.value)):
        for secret in account.secrets.values():
            assert secret not in text
    assert "***" in outcome.detail


async def test_a_rendering_without_text_is_given_up(fake_channels, http):
    empty = Rendering("zalo", "application/json", {})

    outcome = await zalo.send(http, make_account(fake_channels), Item("k", USER_ID, empty))

    assert outcome.reaction is Reaction.GIVE_UP
    assert paths(fake_channels) == []
