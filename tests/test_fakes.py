"""The fake providers' fault modes (tests/fakes/modes.py) hold to what they promise, since the
delivery tests measure the engine against them: a hang holds every request until it is
cleared, a trickle sends its headers and then a byte at a time, a rate limit refuses exactly
the arrivals past the limit in a sliding second, and hundreds of hung requests of one channel
leave another channel's fake answering at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.channel_helpers import http_client
from tests.fakes import esms as fake_esms
from tests.fakes import graph as fake_graph
from tests.fakes import telegram as fake_telegram
from tests.fakes import zalo as fake_zalo

SMS_PATH = "/esms" + fake_esms.PATH
GET_ME = f"/telegram/bot{fake_telegram.TOKEN}/getMe"


def sms(n: int = 0) -> dict:
    """A request body the fake gateway accepts (its own RequestId each)."""
    return {
        "ApiKey": fake_esms.API_KEY,
        "SecretKey": fake_esms.SECRET_KEY,
        "Phone": "0901888484",
        "Content": "Canh bao lua dao",
        "Brandname": "CONGAN_DEMO",
        "SmsType": "2",
        "RequestId": f"fakes-{n}",
    }


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list]:
    """Run ``call`` on a thread; its result (or exception) lands in the returned list."""
    result: list = []

    def run():
        try:
            result.append(call())
        except Exception as exc:  # handed to the test through ``result``
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_a_hang_holds_every_request_until_it_is_cleared(fake_channels):
    state = fake_channels.state
    state.set_mode("esms", "hang")
    posts = [
        in_thread(lambda n=n: httpx.post(fake_channels.url + SMS_PATH, json=sms(n), timeout=10))
        for n in range(3)
    ]
    wait_for(lambda: len(state.arrivals("esms")) == 3)
    time.sleep(0.6)  # three polls of a hung request

    assert all(thread.is_alive() for thread, _ in posts)
    assert [r.status for r in state.exchanges("esms")] == [None, None, None]
    assert "esms_sent" not in state.extra  # read, recorded, not processed

    released = time.monotonic()
    state.clear_mode("esms")
    for thread, _ in posts:
        thread.join(5)
    assert time.monotonic() - released < 1.0
    assert [result[0].json()["CodeResult"] for _, result in posts] == ["100"] * 3
    assert [r.status for r in state.exchanges("esms")] == [200] * 3
    assert len(state.extra["esms_sent"]) == 3


def test_a_hung_request_whose_client_leaves_is_dropped_unprocessed(fake_channels):
    state = fake_channels.state
    state.set_mode("telegram", "hang")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            fake_channels.url + f"/telegram/bot{fake_telegram.TOKEN}/sendMessage",
            json={"chat_id": 42, "text": "x"},
            timeout=httpx.Timeout(5.0, read=0.3),
        )
    wait_for(lambda: state.exchanges("telegram")[0].dropped)
    state.clear_mode("telegram")

    (request,) = state.exchanges("telegram")
    assert request.status is None and request.answered is None
    assert "telegram_sent" not in state.extra


def test_a_trickle_sends_the_headers_at_once_then_one_byte_at_a_time(fake_channels):
    state = fake_channels.state
    state.set_mode("telegram", "trickle", seconds=0.2)
    host, port = fake_channels.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        began = time.monotonic()
        conn.sendall(f"GET {GET_ME} HTTP/1.1\r\nHost: fake\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            received += conn.recv(4096)
        head, _, body = received.partition(b"\r\n\r\n")
        assert time.monotonic() - began < 0.3
        assert head.startswith(b"HTTP/1.1 200")
        length = int(
            next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length")).split(
                b":"
            )[1]
        )
        time.sleep(0.9)
        conn.setblocking(False)
        body += conn.recv(4096)
        assert 3 <= len(body) <= 5 < length  # a byte each 0.2 s
        assert state.exchanges("telegram")[0].status == 200  # answered: the status is out

        state.clear_mode("telegram")
        conn.setblocking(True)
        while len(body) < length:
            body += conn.recv(4096)
    assert body.startswith(b'{"ok":true')


def test_modes_are_set_and_cleared_through_the_control_api(fake_channels, plain_http):
    url = fake_channels.url
    answer = plain_http.post(url + "/_control/mode", json={"channel": "esms", "mode": "trickle"})
    assert answer.json() == {"ok": True}
    assert fake_channels.state.mode("esms").name == "trickle"
    plain_http.post(url + "/_control/mode", json={"channel": "esms", "mode": None})
    assert fake_channels.state.mode("esms") is None
    wrong = plain_http.post(url + "/_control/mode", json={"channel": "esms", "mode": "slow"})
    assert wrong.status_code == 400 and "no fault mode" in wrong.json()["error"]
    plain_http.post(url + SMS_PATH, json=sms())
    (request,) = plain_http.get(url + "/_control/requests", params={"channel": "esms"}).json()
    assert request["status"] == 200 and request["answered"] >= request["at"]


# How each fake is asked something and how its provider says "over the limit"; the limit
# is counted before the request is otherwise checked, so any well-formed request will do.
def _telegram(client: httpx.Client, url: str, n: int) -> httpx.Response:
    path = f"/telegram/bot{fake_telegram.TOKEN}/sendMessage"
    return client.post(url + path, json={"chat_id": 1000 + n, "text": f"tin {n}"})


def _graph(client: httpx.Client, url: str, n: int) -> httpx.Response:
    form = {"message": f"tin {n}", "access_token": fake_graph.PAGE_TOKEN}
    return client.post(f"{url}/graph/v23.0/{fake_graph.PAGE_ID}/feed", data=form)


def _zalo(client: httpx.Client, url: str, n: int) -> httpx.Response:
    body = {"recipient": {"user_id": str(5000 + n)}, "message": {"text": f"tin {n}"}}
    headers = {"access_token": fake_zalo.ACCESS_TOKEN}
    return client.post(url + "/zalo/v3.0/oa/message/cs", json=body, headers=headers)


def _hooks(client: httpx.Client, url: str, n: int) -> httpx.Response:
    return client.post(url + "/hooks/newsroom", json={"n": n})


RATE_LIMITED = {
    "esms": (
        lambda client, url, n: client.post(url + SMS_PATH, json=sms(n)),
        lambda r: r.status_code == 429 and int(r.headers["retry-after"]) >= 1,
    ),
    "telegram": (
        _telegram,
        lambda r: r.status_code == 429 and r.json()["parameters"]["retry_after"] >= 1,
    ),
    "graph": (
        _graph,
        lambda r: (
            r.status_code == 400
            and r.json()["error"]["code"] == 80001
            and '"estimated_time_to_regain_access": 5' in r.headers["x-business-use-case-usage"]
        ),
    ),
    "zalo": (
        _zalo,
        lambda r: (
            r.status_code == 200 and r.json()["error"] == -32 and "x-ratelimit-remain" in r.headers
        ),
    ),
    "hooks": (_hooks, lambda r: r.status_code == 429 and int(r.headers["retry-after"]) >= 1),
}


@pytest.mark.parametrize("channel", RATE_LIMITED)
def test_the_rate_limit_refuses_exactly_the_arrivals_over_it_in_a_sliding_second(
    fake_channels, plain_http, channel
):
    """Requests one after the other: a burst of five, two more half a second later, and
    three more 1.1 s after the burst. Each answer is checked against the arrivals the fake
    recorded: the refused ones count, and the window slides (a fixed second would let all
    of the last three in)."""
    ask, limited = RATE_LIMITED[channel]
    limit = 3
    fake_channels.state.set_mode(channel, "rate-limit", per_second=limit)
    answers = [ask(plain_http, fake_channels.url, n) for n in range(5)]
    time.sleep(0.5)
    answers += [ask(plain_http, fake_channels.url, n) for n in range(5, 7)]
    time.sleep(0.6)
    answers += [ask(plain_http, fake_channels.url, n) for n in range(7, 10)]

    arrivals = fake_channels.state.arrivals(channel)
    expected = [
        sum(0 <= at - earlier < 1.0 for earlier in arrivals[: i + 1]) > limit
        for i, at in enumerate(arrivals)
    ]
    assert [limited(answer) for answer in answers] == expected
    assert expected == [False] * 3 + [True] * 4 + [False, True, True]


def test_the_rate_limit_mode_ends_when_cleared(fake_channels, plain_http):
    fake_channels.state.set_mode("hooks", "rate-limit", per_second=1)
    assert [_hooks(plain_http, fake_channels.url, n).status_code for n in range(2)] == [404, 429]
    fake_channels.state.clear_mode("hooks")
    assert _hooks(plain_http, fake_channels.url, 2).status_code == 404  # no such endpoint


def test_telegram_counts_a_true_sliding_second_per_chat(fake_channels, plain_http):
    """Two messages to one chat 0.6 s apart, twice: the second pair is refused only while
    the first message is less than a second old (a fixed window would let it in)."""
    first = _telegram(plain_http, fake_channels.url, 7)
    time.sleep(0.6)
    second = _telegram(plain_http, fake_channels.url, 7)
    time.sleep(0.6)
    third = _telegram(plain_http, fake_channels.url, 7)
    assert [first.status_code, second.status_code] == [200, 429]
    # 1.2 s after the first, but 0.6 s after the refused second: a refused arrival counts.
    assert third.status_code == 429
    assert second.headers["retry-after"] == "1"


async def test_two_hundred_hung_requests_do_not_delay_another_channel(fake_channels):
    """The engine keeps up to 128 SMS requests in flight: with 200 of them hung on the
    gateway, the Telegram fake of the same server still answers at once."""
    state = fake_channels.state
    state.set_mode("esms", "hang")
    async with http_client(30.0) as http:
        hung = [
            asyncio.create_task(http.post(fake_channels.url + SMS_PATH, json=sms(n)))
            for n in range(200)
        ]
        began = time.monotonic()
        while len(state.arrivals("esms")) < 200:
            assert time.monotonic() - began < 10, len(state.arrivals("esms"))
            await asyncio.sleep(0.01)
        slowest = 0.0
        for _ in range(10):
            asked = time.monotonic()
            assert (await http.get(fake_channels.url + GET_ME)).status_code == 200
            slowest = max(slowest, time.monotonic() - asked)
        assert slowest < 0.25  # measured: about 5 ms
        assert not any(task.done() for task in hung)

        state.clear_mode("esms")
        answers = await asyncio.gather(*hung)
    assert {answer.status_code for answer in answers} == {200}
    assert len(state.extra["esms_sent"]) == 200
