"""A newsroom's webhook receiver, at POST /hooks/<endpoint>, as a careful partner would run it.

It checks the Standard Webhooks signature with its own code (standard library only, from
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md,
never ``alerts.channels.webhook_signing``: the point is an independent check): the
HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}`` with the endpoint's secret,
compared in constant time against each ``v1,`` signature of the header, and a timestamp
within five minutes. It answers 204 to a valid delivery, 401 to a bad signature, 404 to an
endpoint nobody registered, and 200 to a webhook-id it has already accepted (recorded as a
duplicate, not processed again).

Tests register an endpoint's secret with ``register(state, endpoint, secret)`` and read
what happened with ``deliveries(state)``. Queued failures (``state.fail("hooks", ...)``):
kind="http" (status, optional retry_after and location), kind="gone" (410), kind="close" (no
answer, the connection closed), kind="hang"
(seconds; then the delivery is processed as usual, as a slow receiver would), kind="malformed"
(an HTML page with status 200, nothing processed: a proxy answering for the receiver).
The "rate-limit" mode (``per_second`` deliveries per sliding second of arrivals, all
endpoints together) answers 429 with Retry-After, which Standard Webhooks asks senders to
honour (5b.3); "hang" and "trickle" are ``modes.py``'s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request

from tests.fakes.failures import next_failure
from tests.fakes.modes import hang_up
from tests.fakes.modes import throttle
from tests.fakes.state import FakeState

CHANNEL = "hooks"
SECRETS = "hooks.secrets"  # state.extra: {endpoint: "whsec_..."}
SEEN = "hooks.seen"  # state.extra: {endpoint: set of accepted webhook-ids}
LOG = "hooks.deliveries"  # state.extra: [{"endpoint", "id", "result", "json"}]
TOLERANCE = 300


def register(state: FakeState, endpoint: str, secret: str) -> None:
    """Make ``endpoint`` exist, verifying with ``secret`` ("whsec_<base64>")."""
    with state.lock:
        state.extra.setdefault(SECRETS, {})[endpoint] = secret


def deliveries(state: FakeState, endpoint: str | None = None) -> list[dict]:
    """Return what the receiver did with each signed request: accepted, duplicate, rejected."""
    with state.lock:
        found = list(state.extra.get(LOG, []))
    return [d for d in found if endpoint is None or d["endpoint"] == endpoint]


def signature_problem(secret: str, headers, body: bytes, now: float) -> str | None:
    """Return why a delivery's signature is refused, or None if one signature matches."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        return "missing webhook headers"
    if not (stamp.isascii() and stamp.isdigit()):
        return "bad timestamp"
    if abs(now - int(stamp)) > TOLERANCE:
        return "timestamp outside tolerance"
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        return "the receiver's secret is malformed"
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return None
    return "no matching signature"


def blueprint(state: FakeState) -> Blueprint:
    """Return the receiver's blueprint (mounted at /hooks)."""
    bp = Blueprint("hooks", __name__)

    def log(endpoint: str, msg_id: str | None, result: str) -> None:
        entry = {"endpoint": endpoint, "id": msg_id, "result": result}
        entry["json"] = request.get_json(silent=True)
        with state.lock:
            state.extra.setdefault(LOG, []).append(entry)

    @bp.post("/<endpoint>")
    def receive(endpoint: str):
        failure = next_failure(state, CHANNEL) or {}
        if failure.get("kind") == "close":
            return hang_up(state)
        if failure.get("kind") == "gone":
            return jsonify(error="this endpoint was removed"), 410
        if failure.get("kind") == "http":
            return _failure_response(failure)
        if failure.get("kind") == "malformed":
            return Response("<html><body>OK</body></html>", mimetype="text/html")
        wait = throttle(state, CHANNEL, state.rate(CHANNEL))
        if wait is not None:
            return _failure_response({"status": 429, "retry_after": max(1, math.ceil(wait))})
        with state.lock:
            secret = state.extra.get(SECRETS, {}).get(endpoint)
        if secret is None:
            return jsonify(error="no such endpoint"), 404
        if request.mimetype != "application/json":
            return jsonify(error="expected application/json"), 415
        msg_id = request.headers.get("webhook-id")
        problem = signature_problem(secret, request.headers, request.get_data(), time.time())
        if problem:
            log(endpoint, msg_id, "rejected")
            return jsonify(error=problem), 401
        with state.lock:
            seen = state.extra.setdefault(SEEN, {}).setdefault(endpoint, set())
            duplicate = msg_id in seen
            seen.add(msg_id)
        log(endpoint, msg_id, "duplicate" if duplicate else "accepted")
        if duplicate:
            return jsonify(status="duplicate", id=msg_id), 200
        return Response(status=204)

    return bp


def _failure_response(failure: dict) -> Response:
    status = int(failure.get("status", 500))
    response = jsonify(error=f"queued failure {status}")
    response.status_code = status
    if failure.get("retry_after") is not None:
        response.headers["Retry-After"] = str(failure["retry_after"])
    if 300 <= status < 400:
        response.headers["Location"] = failure.get("location", "/hooks/moved")
    return response
