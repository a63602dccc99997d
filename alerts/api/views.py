"""Warnings through the API: list, create, read, edit, and every workflow transition.

Each view reads the body, calls one workflow function and shows the result. The workflow
checks roles, jurisdiction and state and audits every refusal, so no rule is repeated here
and the API cannot allow what the UI refuses.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response
from flask import current_app
from flask import request

from alerts.api import bp
from alerts.api import inputs
from alerts.api import serialize
from alerts.api.auth import acting
from alerts.api.auth import token_required
from alerts.api.urls import external_url
from alerts.db import get_db
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.reach import audience
from alerts.store import warnings as store
from alerts.warnings import publication
from alerts.warnings import search
from alerts.warnings import workflow
from alerts.warnings.models import Alert

LIST_LIMIT = 200
MAX_OFFSET = 1_000_000
# SQLite integers are 64-bit; a larger id cannot exist and must not reach SQL (a 500).
MAX_ID = 2**63 - 1
# What each transition's body may hold (submit and withdraw take none); see schemas.py.
APPROVAL = ("content_hash",)
REJECTION = ("content_hash", "reason")
CANCELLATION = ("reason",)


@bp.url_value_preprocessor
def _existing_ids(_endpoint: str | None, values: dict | None) -> None:
    """Answer 404 for ids no row can have, before any query."""
    if values and values.get("alert_id", 0) > MAX_ID:
        raise NotFound(values["alert_id"])


def _show(alert: Alert, status: int = 200) -> Response:
    """Return a revision as JSON; a new one (201) with its Location."""
    body = serialize.alert_json(get_db(), acting(), alert)
    headers = {}
    if status == 201:
        headers["Location"] = external_url("api.get_alert", alert_id=alert.id)
    return serialize.json_response(body, status, headers)


def _current(alert_id: int) -> Alert:
    return workflow.visible(get_db(), acting(), alert_id)


@bp.get("/alerts")
@token_required
def list_alerts():
    """Warnings of the caller's unit and the units below it, newest first, filtered by the
    admin list's search parameters (``alerts.warnings.search``); 422 names each bad one."""
    db = get_db()
    query = search.parse(
        db, acting(), request.args, ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    )
    limit = min(max(request.args.get("limit", LIST_LIMIT, type=int), 1), LIST_LIMIT)
    offset = min(max(request.args.get("offset", 0, type=int), 0), MAX_OFFSET)
    found, total = search.search(db, query, limit=limit, offset=offset)
    return serialize.json_response(
        {"alerts": [serialize.alert_json(db, acting(), a) for a in found], "total": total}
    )


@bp.post("/alerts")
@token_required
def create_alert():
    """Draft a new warning issued by the caller's unit (201, with Location)."""
    db = get_db()
    raw = inputs.content(db, inputs.json_body(inputs.CONTENT_FIELDS))
    alert_id = workflow.create(db, acting(), raw, config=current_app.config, naive_zone=None)
    return _show(store.get_alert(db, alert_id), 201)


@bp.get("/alerts/<int:alert_id>")
@token_required
def get_alert(alert_id: int):
    """One revision the caller may see (404 otherwise, even if it exists)."""
    return _show(_current(alert_id))


@bp.patch("/alerts/<int:alert_id>")
@token_required
def edit_alert(alert_id: int):
    """Change some fields; the others keep their value. An approved warning goes back to
    "submitted", because its approval covered the old text."""
    db = get_db()
    raw = inputs.content(db, inputs.json_body(inputs.CONTENT_FIELDS))
    config = current_app.config
    return _show(workflow.edit(db, acting(), alert_id, raw, config=config, naive_zone=None))


@bp.post("/alerts/<int:alert_id>/submit")
@token_required
def submit_alert(alert_id: int):
    """Send a draft (or a rejected warning) for approval."""
    inputs.json_body(required=False)
    workflow.submit(get_db(), acting(), alert_id, config=current_app.config)
    return _show(_current(alert_id))


def _review(body: dict, *, with_reason: bool) -> tuple[str, str]:
    """Return (content_hash the reviewer saw, reason); 422 naming every missing part."""
    problems: list[Refused] = []
    seen = inputs.text(body, "content_hash", problems)
    if not seen and not problems:
        problems.append(
            Refused("Give the content_hash of the version you reviewed.", "content_hash")
        )
    reason = inputs.text(body, "reason", problems) if with_reason else ""
    inputs.check(problems)
    return seen, reason


@bp.post("/alerts/<int:alert_id>/approve")
@token_required
def approve_alert(alert_id: int):
    """Approve exactly the version reviewed (``content_hash``); published at once if due."""
    seen, _ = _review(inputs.json_body(APPROVAL), with_reason=False)
    config = current_app.config
    return _show(workflow.approve(get_db(), acting(), alert_id, seen_hash=seen, config=config))


@bp.post("/alerts/<int:alert_id>/reject")
@token_required
def reject_alert(alert_id: int):
    """Send the reviewed version back to its author with a ``reason``."""
    seen, reason = _review(inputs.json_body(REJECTION), with_reason=True)
    workflow.reject(get_db(), acting(), alert_id, reason=reason, seen_hash=seen)
    return _show(_current(alert_id))


@bp.post("/alerts/<int:alert_id>/withdraw")
@token_required
def withdraw_alert(alert_id: int):
    """Withdraw a warning before approval (it stays on record)."""
    inputs.json_body(required=False)
    workflow.withdraw(get_db(), acting(), alert_id)
    return _show(_current(alert_id))


@bp.post("/alerts/<int:alert_id>/cancel")
@token_required
def cancel_alert(alert_id: int):
    """Stop an approved or published warning in one step, with a ``reason``."""
    problems: list[Refused] = []
    reason = inputs.text(inputs.json_body(CANCELLATION), "reason", problems)
    inputs.check(problems)
    workflow.cancel(get_db(), acting(), alert_id, reason=reason, config=current_app.config)
    return _show(_current(alert_id))


@bp.post("/alerts/<int:alert_id>/update")
@token_required
def update_alert(alert_id: int):
    """Start the next revision of a published warning (CAP Update) with the fields to
    change; it needs its own approval (201, with Location)."""
    db = get_db()
    raw = inputs.content(db, inputs.json_body(inputs.CONTENT_FIELDS, required=False))
    config = current_app.config
    new_id = workflow.start_update(db, acting(), alert_id, raw, config=config, naive_zone=None)
    return _show(store.get_alert(db, new_id), 201)


@bp.get("/alerts/<int:alert_id>/preview")
@token_required
def preview_alert(alert_id: int):
    """Every channel's rendering, exactly as it would go out, with counts and notes."""
    db = get_db()
    alert = _current(alert_id)
    renderings = publication.preview(db, alert, current_app.config)
    return serialize.json_response(
        {
            "channels": serialize.preview_json(renderings),
            "reach": audience.as_json(audience.audience(db, alert)),
        }
    )
