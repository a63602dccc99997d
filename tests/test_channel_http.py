"""The HTTP plumbing every channel client shares (``alerts.channels.http``), without a server:
the channel tests exercise it over loopback, these pin the edges they do not reach."""

from __future__ import annotations

import time

import httpx
import pytest

from alerts.channels import Reaction
from alerts.channels.http import MAX_BODY
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import post
from alerts.channels.http import post_json
from alerts.channels.http import retry_after_seconds
from alerts.channels.http import scrub
from alerts.channels.http import transport_outcome
from alerts.delivery import engine
from alerts.delivery.transport import CookielessClient


def answering(response: httpx.Response) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))


def http_date(offset: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + offset))


async def test_an_answer_is_read_up_to_the_cap_only():
    async with answering(httpx.Response(200, content=b"x" * (4 * MAX_BODY))) as http:
        _, raw = await post(http, "http://fake.test/", json={})
        _, nothing = await post(http, "http://fake.test/", limit=0, json={})
    assert len(raw) == MAX_BODY
    assert nothing == b""


async def test_json_answers_are_parsed_and_others_are_none():
    async with answering(httpx.Response(200, json={"ok": True})) as http:
        assert (await post_json(http, "http://fake.test/", {}))[1] == {"ok": True}
    async with answering(httpx.Response(502, text="<html>Bad Gateway</html>")) as http:
        response, data = await post_json(http, "http://fake.test/", {})
    assert (response.status_code, data) == (502, None)


async def test_a_body_that_lies_about_its_encoding_is_unknown():
    gzip = {"content-encoding": "gzip"}
    lying = httpx.Response(200, headers=gzip, stream=httpx.ByteStream(b"not gzip"))
    async with answering(lying) as http:
        with pytest.raises(SEND_ERRORS) as raised:
            await post(http, "http://fake.test/", json={})
    outcome = transport_outcome(raised.value)
    assert outcome.reaction is Reaction.UNKNOWN
    assert outcome.detail.startswith("unreadable answer: DecodingError")


# What each kind of httpx error means, by whether the request can have arrived.
TRANSPORT = {
    ("not sent", Reaction.RETRY_BACKOFF): (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
        httpx.ProxyError,
    ),
    ("no answer", Reaction.UNKNOWN): (
        httpx.WriteError,
        httpx.WriteTimeout,
        httpx.ReadTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ),
    ("not sendable", Reaction.GIVE_UP): (httpx.LocalProtocolError,),
    ("bad url", Reaction.DISABLE_CHANNEL): (httpx.UnsupportedProtocol, httpx.InvalidURL),
}


@pytest.mark.parametrize(
    ("error", "reaction", "prefix"),
    [
        (error, reaction, prefix)
        for (prefix, reaction), errors in TRANSPORT.items()
        for error in errors
    ],
)
def test_transport_errors_are_classified_by_whether_the_request_can_have_arrived(
    error, reaction, prefix
):
    outcome = transport_outcome(error("boom"))
    assert outcome.reaction is reaction
    assert outcome.detail == f"{prefix}: {error.__name__}: boom"


def test_a_transport_detail_holds_no_secret_and_no_message_when_asked():
    token = "123:AA/b c"
    error = httpx.ConnectError(f"https://api.test/bot{token}/x and /bot123%3AAA%2Fb%20c/x")
    assert transport_outcome(error, (token,)).detail.count("***") == 2
    assert "123" not in transport_outcome(error, (token,)).detail
    assert transport_outcome(error, with_message=False).detail == "not sent: ConnectError"


def test_scrub_masks_the_longest_secret_first():
    assert scrub("key-1-long and key-1", ["key-1", "", "key-1-long"]) == "*** and ***"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (17, 17.0),
        (2.5, 2.5),
        (-3, 0.0),
        ("30", 30.0),
        (" 7 ", 7.0),
        (None, None),
        (True, None),
        ("soon", None),
        ("1.5", None),  # delta-seconds are whole digits (RFC 9110 10.2.3)
        ("²", None),
        ("nan", None),
        (float("inf"), None),
        ("Wed, 21 Oct 2015 07:28:00 -0000", None),  # no zone: no moment
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
    ],
)
def test_retry_after_reads_numbers_delta_seconds_and_dates(value, seconds):
    assert retry_after_seconds(value) == seconds


def test_retry_after_reads_an_http_date_in_the_future():
    assert 100 < retry_after_seconds(http_date(120)) <= 120


async def test_the_engine_client_neither_keeps_nor_sends_cookies():
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=account-a; Path=/"})

    async with engine.http_client() as made:
        assert isinstance(made, CookielessClient)
    async with CookielessClient(transport=httpx.MockTransport(answer)) as http:
        await post(http, "http://fake.test/a", json={})
        await post(http, "http://fake.test/b", json={})
        assert not http.cookies
        with pytest.raises(TypeError):
            http.cookies = {"session": "x"}
    assert seen == [None, None]
