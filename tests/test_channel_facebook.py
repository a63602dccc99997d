"""The Facebook Page client against the fake Graph server, over real HTTP on loopback."""

from __future__ import annotations

import dataclasses
import urllib.parse

import httpx
import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Reaction
from alerts.channels import facebook
from alerts.render import RenderSettings
from alerts.render.facebook import render
from tests.fakes import graph as fake_graph
from tests.render_samples import sample_message

PAGE_ID = fake_graph.PAGE_ID
FEED = f"/graph/v23.0/{PAGE_ID}/feed"


def make_account(fake, settings: dict | None = None, **secrets) -> Account:
    values = {"access_token": fake_graph.PAGE_TOKEN, **secrets}
    return Account(
        5,
        "facebook",
        f"{fake.url}/graph",
        {"page_id": PAGE_ID} if settings is None else settings,
        values,
    )


def page_item(**changes) -> Item:
    message = dataclasses.replace(sample_message(), **changes)
    return Item("7-1-facebook", "broadcast", render(message, RenderSettings()))


def form(request) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(request.body.decode()).items()}


async def test_it_posts_on_the_page(fake_channels, http):
    item = page_item()

    outcome = await facebook.send(http, make_account(fake_channels), item)

    assert outcome.reaction is Reaction.OK
    assert outcome.provider_id == f"{PAGE_ID}_1"
    [request] = fake_channels.state.recorded("graph")
    assert request.path == FEED
    assert "access_token" not in request.path
    assert form(request) == {
        "message": item.rendering.parts["message"],
        "link": item.rendering.parts["link"],
        "access_token": fake_graph.PAGE_TOKEN,
    }
    assert (
        fake_graph.pages(fake_channels.state).posts[0]["message"] == item.rendering.parts["message"]
    )


async def test_it_uses_the_configured_graph_version(fake_channels, http):
    account = make_account(fake_channels, {"page_id": PAGE_ID, "version": "v26.0"})

    assert (await facebook.send(http, account, page_item())).reaction is Reaction.OK
    assert fake_channels.state.recorded("graph")[0].path == f"/graph/v26.0/{PAGE_ID}/feed"


@pytest.mark.parametrize(
    ("failure", "reaction"),
    [
        ({"code": 1}, Reaction.RETRY_BACKOFF),
        ({"code": 2}, Reaction.RETRY_BACKOFF),
        ({"code": 341}, Reaction.RETRY_BACKOFF),
        ({"code": 4}, Reaction.RETRY_BACKOFF),  # throttled, but no header says how long
        ({"code": 190, "subcode": 460}, Reaction.REFRESH_TOKEN),
        ({"code": 100}, Reaction.GIVE_UP),
        ({"code": 100, "transient": True}, Reaction.RETRY_BACKOFF),
        ({"code": 10}, Reaction.DISABLE_CHANNEL),
        ({"code": 200}, Reaction.DISABLE_CHANNEL),
        ({"code": 299}, Reaction.DISABLE_CHANNEL),
        ({"code": 368}, Reaction.DISABLE_CHANNEL),
        ({"code": 12345}, Reaction.RETRY_BACKOFF),  # undocumented: bounded retries
    ],
)
async def test_it_classifies_graph_error_objects(fake_channels, http, failure, reaction):
    fake_channels.state.fail("graph", kind="error", **failure)

    outcome = await facebook.send(http, make_account(fake_channels), page_item())

    assert outcome.reaction is reaction
    assert outcome.detail.startswith(f"Graph error {failure['code']}")
    assert "fbtrace_id A" in outcome.detail
    assert outcome.status_code == (500 if failure["code"] in (1, 2) else 400)


@pytest.mark.parametrize(("code", "minutes"), [(80001, 3), (32, 1), (4, 10), (613, 2)])
async def test_throttling_waits_as_long_as_the_usage_headers_say(
    fake_channels, http, code, minutes
):
    fake_channels.state.fail("graph", kind="ratelimit", code=code, minutes=minutes)

    outcome = await facebook.send(http, make_account(fake_channels), page_item())

    assert outcome.reaction is Reaction.RETRY_AFTER
    assert outcome.retry_after == minutes * 60
    assert outcome.status_code == 400


async def test_graphs_own_outage_answer_with_a_retry_after_is_waited_for(fake_channels, http):
    """Retry-After on an answer worth retrying is read alike by every channel
    (docs/channels.md#answers-from-something-else), Graph's own error objects included."""
    fake_channels.state.fail("graph", kind="error", code=2, status=503, retry_after=9)

    outcome = await facebook.send(http, make_account(fake_channels), page_item())

    assert outcome.reaction is Reaction.RETRY_AFTER and outcome.retry_after == 9.0
    assert outcome.detail.startswith("Graph error 2")


async def test_throttling_without_a_wait_backs_off(fake_channels, http):
    fake_channels.state.fail("graph", kind="ratelimit", code=80001, minutes=0)

    outcome = await facebook.send(http, make_account(fake_channels), page_item())

    assert outcome.reaction is Reaction.RETRY_BACKOFF


async def test_the_fake_throttles_a_page_past_its_budget(fake_channels, http):
    book = fake_graph.pages(fake_channels.state)
    book.hourly_budget, book.regain_minutes = 2, 7
    account = make_account(fake_channels)

    outcomes = [
        await facebook.send(http, account, page_item(code=c)) for c in ("AAAA1111", "BBBB2222")
    ]
    third = await facebook.send(http, account, page_item(code="CCCC3333"))

    assert [o.reaction for o in outcomes] == [Reaction.OK, Reaction.OK]
    assert third.reaction is Reaction.RETRY_AFTER
    assert third.retry_after == 7 * 60
    assert "80001" in third.detail


async def test_the_fake_reports_usage_on_every_answer(fake_channels, http):
    await facebook.send(http, make_account(fake_channels), page_item())

    answer = await http.post(
        f"{fake_channels.url}{FEED}", data={"access_token": fake_graph.PAGE_TOKEN}
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100  # neither message nor link
    assert '"call_count": 2' in answer.headers["X-App-Usage"]
    assert PAGE_ID in answer.headers["X-Business-Use-Case-Usage"]


async def test_a_wrong_or_expired_page_token_asks_for_a_refresh(fake_channels, http):
    fake_graph.pages(fake_channels.state).expired.add("fb-page-token-0")

    wrong = await facebook.send(
        http, make_account(fake_channels, access_token="fb-page-token-9"), page_item()
    )
    expired = await facebook.send(
        http, make_account(fake_channels, access_token="fb-page-token-0"), page_item()
    )

    assert wrong.reaction is Reaction.REFRESH_TOKEN
    assert wrong.detail.startswith("Graph error 190 (OAuthException)")
    assert expired.reaction is Reaction.REFRESH_TOKEN
    assert expired.detail.startswith("Graph error 190/463")
    assert fake_graph.pages(fake_channels.state).posts == []


async def test_an_unknown_page_disables_the_channel(fake_channels, http):
    account = make_account(fake_channels, {"page_id": "999"})

    outcome = await facebook.send(http, account, page_item())

    assert outcome.reaction is Reaction.DISABLE_CHANNEL
    assert "100/33" in outcome.detail


async def test_a_resent_post_that_is_already_on_the_page_counts_as_sent(fake_channels, http):
    account = make_account(fake_channels)

    first = await facebook.send(http, account, page_item())
    again = await facebook.send(http, account, page_item())

    assert first.reaction is Reaction.OK
    assert again.reaction is Reaction.OK
    assert again.detail.startswith("already posted (Graph error 506")
    assert len(fake_graph.pages(fake_channels.state).posts) == 1


async def test_an_unreadable_link_is_dropped_once(fake_channels, http):
    item = page_item()
    fake_graph.pages(fake_channels.state).unreadable_links.add(item.rendering.parts["link"])

    outcome = await facebook.send(http, make_account(fake_channels), item)

    assert outcome.reaction is Reaction.OK
    first, second = fake_channels.state.recorded("graph")
    assert "link" in form(first)
    assert "link" not in form(second)
    assert fake_graph.pages(fake_channels.state).posts[0]["link"] is None


async def test_secrets_never_show_in_repr_or_details(fake_channels, http):
    account = make_account(fake_channels)
    echo = f"Malformed access token {fake_graph.PAGE_TOKEN}"
    fake_channels.state.fail("graph", kind="error", code=190, message=echo)

    outcome = await facebook.send(http, account, page_item())

    assert outcome.reaction is Reaction.REFRESH_TOKEN
    assert fake_graph.PAGE_TOKEN not in outcome.detail
    assert "Malformed access token ***" in outcome.detail
    assert fake_graph.PAGE_TOKEN not in repr(account)


async def test_it_refuses_what_it_cannot_post_without_asking_graph(fake_channels, http):
    resident = dataclasses.replace(page_item(), target="+84912345678")
    no_page = make_account(fake_channels, {})
    no_token = Account(5, "facebook", f"{fake_channels.url}/graph", {"page_id": PAGE_ID}, {})

    assert (
        await facebook.send(http, make_account(fake_channels), resident)
    ).reaction is Reaction.GIVE_UP
    assert (await facebook.send(http, no_page, page_item())).reaction is Reaction.DISABLE_CHANNEL
    assert (await facebook.send(http, no_token, page_item())).reaction is Reaction.DISABLE_CHANNEL
    assert fake_channels.state.recorded("graph") == []


def test_the_fake_takes_json_bodies_and_checks_what_graph_checks(fake_channels, plain_http):
    def post(body: dict, path: str = FEED) -> httpx.Response:
        return plain_http.post(f"{fake_channels.url}{path}", json=body)

    token = {"access_token": fake_graph.PAGE_TOKEN}
    missing = post({"message": "Cảnh báo"})
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == 104
    assert post({**token, "message": "Cảnh báo"}).json() == {"id": f"{PAGE_ID}_1"}
    late = {**token, "message": "Hẹn giờ", "published": False, "scheduled_publish_time": 1}
    assert post(late).json()["error"]["message"].startswith("(#100) The specified scheduled")
    photo = post(
        {**token, "url": "https://canhbao.bocongan.gov.vn/img/7.jpg"}, FEED[:-4] + "photos"
    )
    assert photo.json()["post_id"] == f"{PAGE_ID}_2"
    bearer = plain_http.post(
        f"{fake_channels.url}/graph/v23.0/{PAGE_ID}/feed",
        headers={"Authorization": f"Bearer {fake_graph.PAGE_TOKEN}"},
        data={"message": "Qua header"},
    )
    assert bearer.json() == {"id": f"{PAGE_ID}_3"}
