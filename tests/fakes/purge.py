"""A cache's purge endpoint (ngx_cache_purge, Varnish, a CDN's): ``PURGE /purge<path>``
answers 200 when it held the page and dropped it, 404 when it held none, and, told to fail,
503. Every request is recorded, to assert what the worker asked for."""

from __future__ import annotations

import threading

from flask import Flask
from flask import request
from werkzeug.serving import make_server


class FakePurge:
    """The endpoint on a free loopback port, in a thread (use it as a context)."""

    def __init__(self, held: set[str] | None = None, failing: bool = False):
        self.held = set(held or ())
        self.failing = failing
        self.received: list[tuple[str, str]] = []
        app = Flask(__name__)
        app.add_url_rule(
            "/purge/", "purge_root", self._purge, defaults={"path": ""}, methods=["PURGE"]
        )
        app.add_url_rule("/purge/<path:path>", "purge", self._purge, methods=["PURGE"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _purge(self, path: str):
        full = request.full_path.removeprefix("/purge").removesuffix("?")
        self.received.append((request.method, full))
        if self.failing:
            return "unavailable", 503
        if full in self.held:
            self.held.discard(full)
            return "purged", 200
        return "not cached", 404

    def __enter__(self) -> FakePurge:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()
