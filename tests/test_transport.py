"""The engine's transport (httpx over aiohttp) against raw loopback servers that misbehave
the ways a provider or a network can: what matters is that "not sent" and "maybe sent"
stay apart, and that a connection left dirty is never reused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable

import httpx
import pytest

from alerts.channels import Reaction
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import post
from alerts.channels.http import transport_outcome
from alerts.delivery.engine import http_client
from tests.channel_helpers import closed_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line[15:])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head + await reader.readexactly(length)


class Server:
    """A loopback server running ``handler`` per connection; counts the connections."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.connections = 0

    async def __aenter__(self) -> str:
        async def serve(reader, writer):
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/send"

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()


def replying(answer: bytes) -> Handler:
    """Return a handler that reads the request, writes ``answer`` and hangs up."""

    async def handler(reader, writer):
        await read_request(reader)
        writer.write(answer)
        await writer.drain()

    return handler


async def outcome_of(url: str):
    async with http_client(httpx.Timeout(2.0)) as http:
        with pytest.raises(SEND_ERRORS) as raised:
            await post(http, url, json={"to": "0901234567"})
    return transport_outcome(raised.value)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", "RemoteProtocolError"),  # the request arrived: then silence and a close
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"CodeRes', "ReadError"),  # cut short
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "RemoteProtocolError"),  # not HTTP at all
    ],
)
async def test_whatever_goes_wrong_after_the_request_is_maybe_sent(answer, error):
    async with Server(replying(answer)) as url:
        outcome = await outcome_of(url)
    assert outcome.reaction is Reaction.UNKNOWN
    assert outcome.detail.startswith(f"no answer: {error}")


async def test_a_refused_connection_is_not_sent():
    outcome = await outcome_of(f"http://127.0.0.1:{closed_port()}/send")
    assert outcome.reaction is Reaction.RETRY_BACKOFF
    assert outcome.detail.startswith("not sent: ConnectError")


async def test_connections_are_reused_but_never_after_a_body_left_unread():
    async def keep_alive(reader, writer):
        while True:
            request = await read_request(reader)
            if b"/big" in request.split(b"\r\n", 1)[0]:
                body = b"x" * 300_000
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            else:
                writer.write(OK)
            await writer.drain()

    server = Server(keep_alive)
    async with server as url, http_client(httpx.Timeout(2.0)) as http:
        for _ in range(3):
            response, raw = await post(http, url, json={})
            assert (response.status_code, raw) == (200, b'{"ok":true}')
        assert server.connections == 1
        _, cut = await post(http, url + "/big", limit=1000, json={})
        _, after = await post(http, url, json={})
    assert len(cut) == 1000 and after == b'{"ok":true}'
    assert server.connections == 2  # the one left with 299,000 unread bytes was closed
