"""Persistent fault modes of the fake HTTP APIs, one per channel, set and cleared by a test or
the demo (``state.set_mode("esms", "hang")``, ``state.clear_mode("esms")``, or the control
API's ``POST /_control/mode``). Unlike the queued failures (``failures.py``), a mode holds
every request of the channel until it is cleared:

- "hang": the request is read and recorded (with its arrival time), then never answered
  until the mode is cleared, when it goes on and is answered normally; if the client goes
  away first, the request is marked ``dropped`` and nothing is processed. Each request holds
  one server thread, sleeping (``server.py`` serves every connection on its own thread, so
  hundreds of hung requests leave the other channels' fakes alone).
- "trickle": the answer is worked out as usual (so the message counts as sent), its status
  line and headers go out at once, then its body one byte every ``seconds`` (default 1): a
  slowloris answer that no read timeout ends, only a total deadline. An answer without a
  body (the webhook receiver's 204) is whole at once. Clearing the mode sends the rest.
- "rate-limit": the provider's own limit, counted over a sliding second of *arrivals*
  (refused ones too), ``per_second`` (required, except for Telegram whose flood limits are
  always on), answered as that provider answers it: Telegram 429 with
  ``parameters.retry_after`` and Retry-After (``per_second`` for the bot, ``per_chat``,
  ``per_group_minute``); eSMS HTTP 429 with Retry-After (eSMS documents no answer: an
  assumption); Graph HTTP 400 with error 80001 (or ``code``: 4, 17, 32, 613) and
  ``estimated_time_to_regain_access`` of ``minutes`` in X-Business-Use-Case-Usage; Zalo
  HTTP 200 with error -32 and X-RateLimit-* headers; the webhook receiver 429 with
  Retry-After (Standard Webhooks 5b.3). See /work/shared/channels.md for each.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

from flask import Response
from flask import g
from flask import request

from tests.fakes.state import FakeState
from tests.fakes.state import Mode

POLL = 0.2  # how often a hung request looks whether its client went away


def arrival() -> float:
    """Return when the request being served arrived (as recorded), for the rate limits."""
    item = g.get("fake_record")
    return item.at if item is not None else time.time()


def hold(mode: Mode, connection: socket.socket | None) -> bool:
    """Wait while the "hang" ``mode`` lasts; return False if the client went away first."""
    while not mode.released.wait(POLL):
        if connection is not None and client_gone(connection):
            return False
    return True


def client_gone(connection: socket.socket) -> bool:
    """Return whether the peer closed the connection (readable with nothing to read): the
    request was read whole, so a client that waits for its answer sends nothing more.
    (``poll``, not ``select``: a test process may hold more than 1,024 descriptors.)"""
    try:
        poller = select.poll()
        poller.register(connection, select.POLLIN)
        if not poller.poll(0):
            return False
        return connection.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):  # reset, or already closed
        return True


def hang_up(state: FakeState) -> Response:
    """Close the request's connection without an answer (its record marked ``dropped``):
    the empty response returned then fails to write, which werkzeug takes quietly as a
    dropped connection."""
    item = g.get("fake_record")
    if item is not None:
        state.drop(item)
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(status=204)


def trickle(response: Response, mode: Mode) -> Response:
    """Make ``response`` send its headers now and its body one byte at a time."""
    body = response.get_data()
    if not body:
        return response
    every = float(mode.options.get("seconds", 1.0))
    response.headers["Content-Length"] = str(len(body))  # the client waits for every byte
    response.response = _dripping(body, every, mode.released)
    return response


def _dripping(body: bytes, every: float, released: threading.Event) -> Iterator[bytes]:
    yield b""  # werkzeug writes the status line and headers with the first chunk
    for index in range(len(body)):
        if released.wait(every):
            yield body[index:]
            return
        yield body[index : index + 1]


def throttle(state: FakeState, key: str, limit: float, per: float = 1.0) -> float | None:
    """Count this arrival for ``key``; return the wait if it is over ``limit`` (0: none)."""
    return state.over_limit(key, limit, per=per, at=arrival()) if limit else None
