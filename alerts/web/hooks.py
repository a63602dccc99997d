"""The channels' inbound endpoints: ``/hooks/<channel>/<account id>[/<token>]``.

Each unit's account has its own URL, registered with the platform (Zalo OA, Telegram's
``setWebhook``, the Meta app, eSMS's ``CallbackUrl``, the bounce relay). This view only turns
the HTTP call into an ``alerts.inbound.Call`` (the raw bytes, read before anything parses
them) and the answer back: ``alerts.delivery.inbox.take`` checks, stores and audits. No
session, no CSRF token (platforms have neither): the proof of origin is each channel's.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from flask.blueprints import BlueprintSetupState

from alerts.clock import utcnow
from alerts.db import get_db
from alerts.delivery import inbox
from alerts.inbound import MAX_BODY
from alerts.inbound import Call
from alerts.web import storage
from alerts.web.context import client_ip
from alerts.web.guards import public

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


@bp.route("/<channel>/<int:account_id>", methods=["GET", "POST"], defaults={"token": ""})
@bp.route("/<channel>/<int:account_id>/<token>", methods=["GET", "POST"])
@public
def inbound(channel: str, account_id: int, token: str):
    """Take one call from a platform: 2xx once its events are stored (or recognised as a
    re-delivery), the platform's refusal otherwise, 413 past MAX_BODY, 503 when the disk
    refuses the write (every platform retries a 5xx)."""
    if (request.content_length or 0) > MAX_BODY:
        return Response("too large", 413, content_type="text/plain")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return Response("too large", 413, content_type="text/plain")
    call = Call(
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=request.args.to_dict(),
        body=body,
        received=utcnow(),
        token=token,
    )
    try:
        answer = inbox.take(get_db(), current_app.config, channel, account_id, call, client_ip())
    except storage.FAULTS as error:
        storage.absorb(error)
        return Response("unavailable", 503, storage.RETRY_AFTER, content_type="text/plain")
    return Response(answer.body, answer.status, content_type=answer.content_type)


@bp.record_once
def _exempt_from_csrf(state: BlueprintSetupState) -> None:
    state.app.extensions["csrf"].exempt(inbound)
