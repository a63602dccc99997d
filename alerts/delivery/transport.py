"""The connection pool under the engine's httpx client: aiohttp, behind httpx's API.

Measured by scripts/bench: httpx's own async pool (httpcore over anyio) makes a few hundred
requests a second on this kind of machine whatever the concurrency (encode/httpx#3215), and
sender threads over any sync pool fight for the GIL. One event loop over aiohttp's pool
carries hundreds of requests in flight at the cost of one. Our code keeps httpx's API
(``AsyncClient``, requests, responses, timeouts, exception classes); only what is beneath it
changes.

Why not the ``httpx-aiohttp`` package: it maps every aiohttp connection error to
``ConnectTimeout``, also a connection dropped *after* the request was written, which our
clients would then count as "not sent" and retry without marking a possible duplicate. Here
only errors raised before anything was written become ``ConnectError``/``ConnectTimeout``;
everything later is a read or protocol error ("maybe sent").
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx

CHUNK = 16 * 1024

# Most specific first: the first class that matches decides.
_MAP: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.ReadError),
    (TimeoutError, httpx.ReadTimeout),
)


def _httpx_error(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    for source, target in _MAP:
        if isinstance(error, source):
            return target(str(error) or type(error).__name__, request=request)
    return httpx.TransportError(str(error), request=request)


class _Body(httpx.AsyncByteStream):
    """The response body, streamed from aiohttp. Closing it releases the response: aiohttp
    hands the connection back to the pool only when the body was read to its end, and
    closes it otherwise (tests/test_transport.py holds it to that)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request):
        self.response = response
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.content.iter_chunked(CHUNK):
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _httpx_error(error, self.request) from error

    async def aclose(self) -> None:
        self.response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp session: no retries, no redirects, no cookies,
    no proxies from the environment, the body passed through undecoded (httpx decodes)."""

    def __init__(self, connections: int = 512):
        self.connections = connections
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        """Open the session on first use: aiohttp binds it to the running event loop."""
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self.session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            answer = await self._session().request(
                request.method,
                str(request.url),
                data=await request.aread() or None,
                headers=headers,
                allow_redirects=False,
                compress=False,
                timeout=timeout,
            )
        except (TimeoutError, aiohttp.ClientError) as error:
            raise _httpx_error(error, request) from error
        except ValueError as error:  # a header aiohttp will not write (a line break ...)
            raise httpx.LocalProtocolError(str(error), request=request) from error
        return httpx.Response(
            status_code=answer.status,
            headers=list(answer.raw_headers),
            stream=_Body(answer, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason.encode()}
            if answer.reason
            else {"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing it is handed."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class CookielessClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` that never stores or sends cookies. The engine's one client
    speaks for every unit's accounts: a cookie a provider sets for one account must never
    ride along with another account's request. (Reading every answer's headers into
    http.cookiejar was also a fifth of the client's time in scripts/bench.)"""

    @property
    def cookies(self) -> httpx.Cookies:
        if not isinstance(self._cookies, _NoCookies):
            self._cookies = _NoCookies()
        return self._cookies

    @cookies.setter
    def cookies(self, value) -> None:
        raise TypeError("the delivery engine's client keeps no cookies")
