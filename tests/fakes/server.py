"""One HTTP server hosting every fake channel API under its own prefix, plus a control API.

Prefixes: /zalo (openapi.zalo.me and oauth.zaloapp.com), /graph (graph.facebook.com),
/telegram (api.telegram.org), /esms (rest.esms.vn), /hooks (a newsroom's webhook receiver).
An account's ``base_url`` points at one of them. The SMTP fake runs beside it (``smtp.py``).

Control API (JSON): POST /_control/reset, POST /_control/fail {"channel", "count", ...},
POST /_control/delay {"channel", "seconds"}, POST /_control/limit {"key", "per_second"},
POST /_control/mode {"channel", "mode", ...options} (a null "mode" clears it; the modes are
``modes.py``'s), GET /_control/requests?channel= (each with its arrival and its answer),
POST /_control/bounce {"url", "to", "complaint"?, "status"?, "action"?} (the DSN or ARF
report for the last message to "to", POSTed to our bounce endpoint); the eSMS fake has its
own under /esms/_control/ (delivery reports, keyword SMS).
Run for the demo: ``python -m tests.fakes.server --port 8025``.

Each connection is served on its own thread (werkzeug's threaded server, which also closes
every connection after its answer): hundreds of requests hung by one channel's "hang" mode
leave every other channel's fake answering at once (tests/test_fakes.py measures it; 500
requests arriving together were all accepted within 1.6 s, with werkzeug's listen backlog of
128 as with one of 1,024).
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import httpx
from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from werkzeug.serving import make_server

from tests.fakes import modes
from tests.fakes.state import CHANNELS
from tests.fakes.state import FakeState
from tests.fakes.state import Recorded

CHANNEL_MODULES = CHANNELS


def _json(body: bytes) -> object | None:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def recorder(state: FakeState, channel: str):
    """Return a before_request hook: record the request on arrival, then apply a delay or
    the channel's "hang" mode (queued failures and the other modes are for the channel's
    views and ``answer_recorder`` to apply)."""

    def hook():
        arrived = time.time()
        body = request.get_data(cache=True)
        headers = {k.lower(): v for k, v in request.headers.items()}
        item = Recorded(channel, request.method, request.path, headers, body, _json(body), arrived)
        g.fake_record = item
        state.record(item)
        delay = state.delays.get(channel)
        if delay:
            time.sleep(delay)
        mode = state.mode(channel)
        if mode is not None and mode.name == "hang":
            if not modes.hold(mode, request.environ.get("werkzeug.socket")):
                return modes.hang_up(state)
        return None

    return hook


def answer_recorder(state: FakeState, channel: str):
    """Return an after_request hook: note the answer on the request's record, then apply
    the channel's "trickle" mode."""

    def hook(response: Response) -> Response:
        item = g.get("fake_record")
        if item is None or item.dropped:
            return response
        state.answer(item, response.status_code, _json(response.get_data()))
        mode = state.mode(channel)
        if mode is not None and mode.name == "trickle":
            return modes.trickle(response, mode)
        return response

    return hook


def control(app: Flask, state: FakeState) -> None:
    """Register the control API."""

    @app.post("/_control/reset")
    def reset():
        state.reset()
        return jsonify(ok=True)

    @app.post("/_control/fail")
    def fail():
        body = dict(request.get_json())
        state.fail(body.pop("channel"), int(body.pop("count", 1)), **body)
        return jsonify(ok=True)

    @app.post("/_control/delay")
    def delay():
        body = request.get_json()
        state.delays[body["channel"]] = float(body["seconds"])
        return jsonify(ok=True)

    @app.post("/_control/limit")
    def limit():
        body = request.get_json()
        state.limits[body["key"]] = float(body["per_second"])
        return jsonify(ok=True)

    @app.post("/_control/mode")
    def mode():
        body = dict(request.get_json())
        channel, name = body.pop("channel"), body.pop("mode", None)
        try:
            if name:
                state.set_mode(channel, name, **body)
            else:
                state.clear_mode(channel)
        except ValueError as exc:
            return jsonify(ok=False, error=str(exc)), 400
        return jsonify(ok=True)

    @app.post("/_control/bounce")
    def bounce():
        """POST our bounce endpoint ("url") the DSN, or with "complaint" the ARF report, for
        the last message the SMTP fake received for "to", as a bounce relay would."""
        from tests.fakes import esms
        from tests.fakes import smtp

        body = dict(request.get_json())
        if not esms.on_loopback(body["url"]):
            return jsonify(ok=False, error="the fakes call loopback addresses only"), 400
        sent = [r for r in state.recorded("email") if body["to"] in r.json["rcpt_tos"]]
        if not sent:
            return jsonify(ok=False, error="no message to that address"), 404
        options = {k: body[k] for k in ("action", "status", "diagnostic") if k in body}
        raw = smtp.arf(sent[-1]) if body.get("complaint") else smtp.dsn(sent[-1], **options)
        answer = httpx.post(body["url"], content=raw, timeout=10.0)
        return jsonify(ok=True, status=answer.status_code, body=answer.text)

    @app.get("/_control/requests")
    def requests_():
        channel = request.args.get("channel")
        found = state.exchanges(channel) if channel else state.recorded()
        return jsonify(
            [
                {
                    "channel": r.channel,
                    "method": r.method,
                    "path": r.path,
                    "json": r.json,
                    "at": r.at,
                    "status": r.status,
                    "answered": r.answered,
                    "dropped": r.dropped,
                }
                for r in found
            ]
        )


def create_app(state: FakeState | None = None) -> Flask:
    """Build the fake server's app; each channel module registers a blueprint."""
    import importlib

    state = state or FakeState()
    app = Flask("fakes")
    app.extensions["fake_state"] = state
    for name in CHANNEL_MODULES:
        module = importlib.import_module(f"tests.fakes.{name}")
        blueprint = module.blueprint(state)
        blueprint.before_request(recorder(state, name))
        blueprint.after_request(answer_recorder(state, name))
        app.register_blueprint(blueprint, url_prefix=f"/{name}")
    control(app, state)
    return app


def serve(port: int, state: FakeState):
    """Return the WSGI server of the fakes (keeping Zalo's underscored header names)."""
    from tests.fakes.zalo import UnderscoreHeaders

    return make_server(
        "127.0.0.1", port, create_app(state), threaded=True, request_handler=UnderscoreHeaders
    )


class FakeChannels:
    """The fake server on a free loopback port, in a thread (tests use it as a context)."""

    def __init__(self, port: int = 0):
        self.state = FakeState()
        self.server = serve(port, self.state)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeChannels:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for channel in CHANNELS:
            self.state.clear_mode(channel)  # let hung requests go
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


def main() -> None:
    """Serve every fake for the demo: HTTP on --port, SMTP on --smtp-port, one shared state
    (so the control API reaches the SMTP fake too)."""
    from alerts.demo import channels as demo_channels
    from tests.fakes import hooks
    from tests.fakes.smtp import FakeSMTP

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--smtp-port", type=int, default=8026)
    args = parser.parse_args()
    state = FakeState()
    hooks.register(state, demo_channels.WEBHOOK_ENDPOINT, demo_channels.WEBHOOK_SECRET)
    with FakeSMTP(state, port=args.smtp_port):
        print(
            f"Fake channel servers on http://127.0.0.1:{args.port}, SMTP on {args.smtp_port}",
            flush=True,
        )
        serve(args.port, state).serve_forever()


if __name__ == "__main__":
    main()
