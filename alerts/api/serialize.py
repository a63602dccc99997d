"""How warnings, regions and audit entries look in the API.

Field names are the content's own (``alerts.warnings.content``), so what a script reads it can send
back. Times are stored in UTC and shown in the display time zone (Asia/Ho_Chi_Minh, +07:00)
with their offset, which is what the API also requires on input.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import sqlite_utils
from flask import Response
from flask import current_app
from flask import g

from alerts.api import problems
from alerts.clock import from_text
from alerts.models import Acting
from alerts.models import Region
from alerts.render import Rendering
from alerts.render import TooLong
from alerts.store import signatures as signature_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store.signatures import StoredSignature
from alerts.warnings import workflow
from alerts.warnings.models import Alert


def json_response(body: object, status: int = 200, headers: Mapping | None = None) -> Response:
    """Return JSON as UTF-8 text (Vietnamese stays readable, not \\u-escaped)."""
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status, headers=dict(headers or {}), mimetype="application/json")


def moment(value: str | None) -> str | None:
    """Return a stored UTC time as ISO 8601 in the display time zone, or None."""
    if not value:
        return None
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return from_text(value).astimezone(zone).isoformat(timespec="seconds")


def _username(db: sqlite_utils.Database, user_id: int | None) -> str | None:
    """Return a user's name, looked up once per request (lists repeat the same authors)."""
    if user_id is None:
        return None
    names = g.setdefault("api_usernames", {})
    if user_id not in names:
        user = user_store.get_user(db, user_id)
        names[user_id] = user.username if user else None
    return names[user_id]


def _unit_code(db: sqlite_utils.Database, unit_id: int) -> str | None:
    codes = g.setdefault("api_unit_codes", {})
    if unit_id not in codes:
        unit = unit_store.get_unit(db, unit_id)
        codes[unit_id] = unit.code if unit else None
    return codes[unit_id]


def portal_url(code: str | None) -> str | None:
    """Return the short public link of a published warning (``/a/<code>``), or None: the
    same link every channel carries, built from ALERTS_PUBLIC_URL."""
    return f"{current_app.config['PUBLIC_URL']}/a/{code}" if code else None


def signature_json(signature: StoredSignature) -> dict:
    """Return a signature with the exact bytes signed, so anyone can verify it offline."""
    return {
        "msg_type": signature.msg_type,
        "algorithm": "Ed25519",
        "key_id": signature.key_id,
        "signature": signature.signature,
        "payload": base64.b64encode(signature.payload).decode("ascii"),
        "signed_at": moment(signature.signed_at),
    }


def alert_json(db: sqlite_utils.Database, acting: Acting, alert: Alert) -> dict:
    """Return a revision as the API shows it to ``acting`` (``actions``: what they may do)."""
    content = {"refutation": None, **alert.content.as_dict()}
    return {
        "id": alert.id,
        "series_id": alert.series_id,
        "revision": alert.revision,
        "msg_type": alert.msg_type,
        "references": alert.references_id,
        "status": alert.status.value,
        "unit": _unit_code(db, alert.unit_id),
        **content,
        "publish_at": moment(content["publish_at"]),
        "expires_at": moment(content["expires_at"]),
        "content_hash": alert.content_hash,
        "created_by": _username(db, alert.created_by),
        "created_at": moment(alert.created_at),
        "updated_at": moment(alert.updated_at),
        "submitted_at": moment(alert.submitted_at),
        "approved_by": _username(db, alert.approved_by),
        "approved_at": moment(alert.approved_at),
        "reject_reason": alert.reject_reason,
        "published_at": moment(alert.published_at),
        "code": alert.code,
        "url": portal_url(alert.code),
        "cancelled_at": moment(alert.cancelled_at),
        "cancel_reason": alert.cancel_reason,
        "superseded_by": alert.superseded_by,
        "signatures": [signature_json(s) for s in signature_store.signatures_of(db, alert.id)],
        "actions": sorted(workflow.allowed_actions(db, acting, alert)),
    }


def region_json(region: Region) -> dict:
    """Return a region as the admin's region picker shows it."""
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level.value,
        "parent": region.parent_code,
    }


def audit_json(row: Mapping) -> dict:
    """Return an audit entry (without the actor's address: every colleague may read these)."""
    return {
        "id": row["id"],
        "at": moment(row["at"]),
        "actor": row["actor"],
        "actor_unit": row["actor_unit"],
        "action": row["action"],
        "object": row["object"],
        "detail": json.loads(row["detail"]),
        "hash": row["hash"],
    }


def preview_json(renderings: Mapping[str, Rendering | TooLong]) -> dict:
    """Return each channel's rendering (or its refusal) as JSON, notes translated."""
    found = {}
    for channel, rendering in renderings.items():
        if isinstance(rendering, TooLong):
            message = problems.translate(rendering.message, rendering.params)
            found[channel] = {"error": message}
            continue
        found[channel] = {
            "media_type": rendering.media_type,
            "parts": dict(rendering.parts),
            "headers": dict(rendering.headers),
            "counts": dict(rendering.counts),
            "notes": [problems.translate(text, params) for text, params in rendering.notes],
            "error": None,
        }
    return found
