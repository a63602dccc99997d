"""The queued failures every fake HTTP API answers alike, so each fake keeps only its own.

A "hang" waits its ``seconds`` and then lets the request go on as usual (a slow provider);
"http" is an HTML error page with its ``status`` (``retry_after`` as a Retry-After header;
a 3xx sends its Location to ``location``, by default another host) and "malformed" an HTML
page with status 200: what a proxy or an outage page answers instead of the API; "close"
reads the request and closes the connection without a word (a proxy or a crashed server).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Response

from tests.fakes.modes import hang_up
from tests.fakes.state import FakeState


def next_failure(state: FakeState, channel: str, default_kind: str | None = None) -> dict | None:
    """Pop the channel's next queued failure, its "kind" filled in with ``default_kind``;
    a "hang" is served here (it sleeps) and then counts as no failure."""
    failure = state.next_failure(channel)
    if failure is None:
        return None
    failure.setdefault("kind", default_kind)
    if failure["kind"] == "hang":
        time.sleep(float(failure.get("seconds", 30)))
        return None
    return failure


def answer_queued(
    state: FakeState,
    channel: str,
    own: Callable[[dict], object],
    *,
    default_kind: str = "error",
    http_status: int = 502,
):
    """Answer the channel's next queued failure, or return None for the request to go on:
    "hang", "http", "malformed" and "close" as this module says, any other kind by
    ``own(failure)``."""
    failure = next_failure(state, channel, default_kind)
    if failure is None:
        return None
    if failure["kind"] == "close":
        return hang_up(state)
    if failure["kind"] == "malformed":
        return Response("<html><body>Service unavailable</body></html>", mimetype="text/html")
    if failure["kind"] != "http":
        return own(failure)
    status = int(failure.get("status", http_status))
    page = f"<html><body><h1>{status}</h1></body></html>"
    response = Response(page, status, mimetype="text/html")
    if "retry_after" in failure:
        response.headers["Retry-After"] = str(failure["retry_after"])
    if 300 <= status < 400:
        response.headers["Location"] = failure.get("location", "https://moved.example/api")
    return response
