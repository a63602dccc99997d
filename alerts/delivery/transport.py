"""The connection pool under the engine's httpx client: urllib3, behind httpx's API.

Measured by scripts/bench: httpx's default pool (httpcore) takes one lock on every request
and every release, and the work under it grows with the number of connections, so 64
sender threads send fewer messages per second than one. urllib3 keeps a pool per host with
a short lock, and the same threads then scale with the provider's latency. Our code keeps
httpx's API (requests, responses, timeouts, exception classes); only what is beneath it
changes. Errors are mapped to httpx's own classes so the channel clients still tell "not
sent" (connect errors) from "maybe sent" (read errors and timeouts).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import urllib3
from urllib3 import exceptions as u3

_MAP = (
    (u3.ConnectTimeoutError, httpx.ConnectTimeout),
    (u3.NewConnectionError, httpx.ConnectError),
    (u3.ReadTimeoutError, httpx.ReadTimeout),
    (u3.ProtocolError, httpx.ReadError),
    (u3.SSLError, httpx.ConnectError),
    (u3.LocationParseError, httpx.UnsupportedProtocol),
)


def _httpx_error(error: Exception, request: httpx.Request) -> httpx.TransportError:
    for source, target in _MAP:
        if isinstance(error, source):
            return target(str(error), request=request)
    return httpx.TransportError(str(error), request=request)


class _Body(httpx.SyncByteStream):
    """The response body, streamed from urllib3; closing it hands the connection back only
    when the body was read to its end (otherwise the connection is closed)."""

    def __init__(self, response: urllib3.BaseHTTPResponse, request: httpx.Request):
        self.response = response
        self.request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.response.stream(16 * 1024, decode_content=False)
        except u3.HTTPError as error:
            raise _httpx_error(error, self.request) from error

    def close(self) -> None:
        if self.response.closed or self.response.isclosed():
            self.response.release_conn()
        else:
            self.response.close()
            self.response.release_conn()


class Urllib3Transport(httpx.BaseTransport):
    """An httpx transport over a urllib3 PoolManager (no retries, no redirects)."""

    def __init__(self, connections: int = 128):
        self.pool = urllib3.PoolManager(num_pools=64, maxsize=connections, block=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = urllib3.Timeout(connect=timeouts.get("connect"), read=timeouts.get("read"))
        try:
            answer = self.pool.urlopen(
                request.method,
                str(request.url),
                body=request.read(),
                headers=dict(request.headers),
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                timeout=timeout,
            )
        except u3.HTTPError as error:
            raise _httpx_error(error, request) from error
        return httpx.Response(
            status_code=answer.status,
            headers=list(answer.headers.items()),
            stream=_Body(answer, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        self.pool.clear()
