"""Helpers the channel client tests share (the fake server itself is the ``fake_channels``
fixture of ``tests.conftest``, and their usual client its ``http`` fixture)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import httpx

from alerts.delivery import engine


def http_client(timeout: float = 5.0, read: float | None = None) -> httpx.AsyncClient:
    """Return the engine's own client (its transport, no redirects) with these timeouts
    (``read`` shorter than ``timeout`` for the tests of a server that hangs)."""
    return engine.http_client(httpx.Timeout(timeout, read=timeout if read is None else read))


def closed_port() -> int:
    """Return a loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_server() -> SimpleNamespace:
    """Return a stand-in for ``fake_channels`` whose URL refuses every connection."""
    return SimpleNamespace(url=f"http://127.0.0.1:{closed_port()}", state=None)
