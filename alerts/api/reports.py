"""Residents' reports through the API: the unit's inbox, one report, a decision on it, and
a draft warning made from reports. The rules are ``alerts.reports.inbox``'s; the contact
is never returned, only its mask."""

from __future__ import annotations

from flask import current_app
from flask import request

from alerts.api import bp
from alerts.api import inputs
from alerts.api import serialize
from alerts.api.auth import acting
from alerts.api.auth import token_required
from alerts.api.urls import external_url
from alerts.db import get_db
from alerts.errors import Refused
from alerts.reports import inbox
from alerts.store import report_inbox as report_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as warning_store
from alerts.store.report_inbox import Report

LIST_LIMIT = 200
CHANGE = ("status", "reason", "duplicate_of", "assigned_to")
FROM_REPORTS = ("reports", *inputs.CONTENT_FIELDS)
_PLURAL = {"phone": "phones", "account": "accounts", "link": "links"}


def report_json(report: Report, found: list) -> dict:
    """Return a report as the API shows it (contact masked, text as plain text)."""
    db = get_db()
    units = {i: unit_store.get_unit(db, i) for i in {report.unit_id, report.origin_unit_id}}
    assignee = user_store.get_user(db, report.assigned_to) if report.assigned_to else None
    original = report_store.get_by_id(db, report.duplicate_of) if report.duplicate_of else None
    indicators = {"phones": [], "accounts": [], "links": []}
    for indicator in found:
        indicators[_PLURAL[indicator.kind]].append(indicator.value)
    return {
        "code": report.code,
        "kind": report.kind,
        "status": report.status,
        "region": report.region_code,
        "unit": units[report.unit_id].code,
        "origin_unit": units[report.origin_unit_id].code,
        "channel": report.channel,
        "text": report.text,
        "indicators": indicators,
        "contact": report.contact_masked,
        "has_image": report.has_image,
        "reason": report.reason,
        "duplicate_of": original.code if original else None,
        "assigned_to": assignee.username if assignee else None,
        "warning_id": report.warning_id,
        "created_at": report.created_at,
        "first_reviewed_at": report.first_reviewed_at,
        "updated_at": report.updated_at,
        "actions": inbox.allowed_actions(db, acting(), report),
    }


def _show(report: Report):
    found = inbox.indicators(get_db(), [report])
    return serialize.json_response(report_json(report, found.get(report.id, [])))


def _list_arg(name: str) -> list[str] | None:
    values = [v.strip() for v in request.args.get(name, "").split(",") if v.strip()]
    return values or None


def _bounded(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name, default, type=int)
    return min(max(value, low), high)


@bp.get("/reports")
@token_required
def list_reports():
    """Reports of the caller's unit and the units below it (and those it forwarded up),
    new ones first; ``limit`` and ``offset`` page through them."""
    db = get_db()
    try:
        found = inbox.list_reports(
            db,
            acting(),
            statuses=_list_arg("status"),
            kinds=_list_arg("kind"),
            limit=_bounded("limit", LIST_LIMIT, 1, LIST_LIMIT),
            offset=_bounded("offset", 0, 0, 10**9),
        )
    except Refused as problem:
        inputs.check([problem])
    by_id = inbox.indicators(db, found)
    return serialize.json_response(
        {"reports": [report_json(r, by_id.get(r.id, [])) for r in found]}
    )


@bp.get("/reports/<code>")
@token_required
def get_report(code: str):
    """One report the caller may see (404 otherwise, even if it exists)."""
    return _show(inbox.visible(get_db(), acting(), code))


@bp.patch("/reports/<code>")
@token_required
def change_report(code: str):
    """Move the report to ``status`` (with ``reason``, ``duplicate_of``) and/or assign it
    (``assigned_to``: a username, or null for nobody)."""
    db, body = get_db(), inputs.json_body(CHANGE)
    problems: list[Refused] = []
    status = inputs.text(body, "status", problems)
    reason = inputs.text(body, "reason", problems)
    duplicate_of = inputs.text(body, "duplicate_of", problems)
    assignee = inputs.text(body, "assigned_to", problems)
    if status and status not in inbox.BY_STATUS:
        allowed = ", ".join(inbox.BY_STATUS)
        problems.append(Refused("Choose one of: %(allowed)s.", "status", allowed=allowed))
    if not status and "assigned_to" not in body:
        problems.append(Refused("Send a status or assigned_to.", "status"))
    inputs.check(problems)
    report = inbox.visible(db, acting(), code)
    if "assigned_to" in body:
        report = inbox.assign(db, acting(), code, assignee or None)
    if status:
        report = inbox.move(
            db,
            current_app.config,
            acting(),
            code,
            inbox.BY_STATUS[status],
            reason=reason,
            duplicate_of=duplicate_of,
        )
    return _show(report)


@bp.post("/alerts/from-reports")
@token_required
def alert_from_reports():
    """Draft a warning from reports: their indicators and communes, laid under the content
    fields sent; the reports are attached to it (201, with Location)."""
    db, body = get_db(), inputs.json_body(FROM_REPORTS)
    codes = body.get("reports")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        inputs.check([Refused("Send the reports' codes as a list.", "reports")])
    raw = {**inbox.draft_fields(db, acting(), codes), **inputs.content(db, body)}
    alert_id = inbox.create_warning(db, acting(), codes, raw, config=current_app.config)
    alert = warning_store.get_alert(db, alert_id)
    location = {"Location": external_url("api.get_alert", alert_id=alert_id)}
    return serialize.json_response(serialize.alert_json(db, acting(), alert), 201, location)


def paths(op, body) -> dict:
    """Return the OpenAPI paths of these routes (``op``/``body`` build operations)."""
    code = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
    query = [
        {"name": "status", "in": "query", "schema": {"type": "string"}},
        {"name": "kind", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": LIST_LIMIT}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]
    report = {"$ref": "#/components/schemas/Report"}
    listing = {"type": "object", "properties": {"reports": {"type": "array", "items": report}}}
    create = op(
        "Draft a warning from reports",
        "201",
        {"$ref": "#/components/schemas/Alert"},
        "400 403 404 413 422",
        **body("AlertFromReports"),
    )
    create["responses"]["201"]["headers"] = {
        "Location": {"schema": {"type": "string", "format": "uri"}}
    }
    return {
        "/reports": {
            "get": op(
                "Residents' reports of your unit and below", "200", listing, "422", parameters=query
            )
        },
        "/reports/{code}": {
            "get": op("One report", "200", report, "404", parameters=code),
            "patch": op(
                "Decide on a report or assign it",
                "200",
                report,
                "400 403 404 409 422",
                parameters=code,
                **body("ReportChange"),
            ),
        },
        "/alerts/from-reports": {"post": create},
    }


def components(closed, content_properties: dict) -> dict:
    """Return the schemas of these routes."""
    strings = {"type": "array", "items": {"type": "string"}}
    nullable = {"type": ["string", "null"]}
    time = {"type": ["string", "null"], "format": "date-time"}
    indicators = {"$ref": "#/components/schemas/Indicators"}
    report = {
        "code": {"type": "string"},
        "kind": {"enum": list(inbox.KINDS)},
        "status": {"enum": list(inbox.STATUSES)},
        "region": {"type": "string", "description": "The commune reported from."},
        "unit": {"type": "string", "description": "The unit holding it now."},
        "origin_unit": {"type": "string", "description": "The unit it was filed with."},
        "channel": {"enum": ["portal", "zalo", "telegram", "sms"]},
        "text": {"type": "string", "description": "Plain text, never HTML."},
        "indicators": indicators,
        "contact": {**nullable, "description": "Masked; never the full contact."},
        "has_image": {"type": "boolean"},
        "reason": nullable,
        "duplicate_of": nullable,
        "assigned_to": nullable,
        "warning_id": {"type": ["integer", "null"]},
        "created_at": time,
        "first_reviewed_at": time,
        "updated_at": time,
        "actions": {"type": "array", "items": {"enum": list(inbox.TRANSITIONS)}},
    }
    change = {
        "status": {"enum": list(inbox.BY_STATUS)},
        "reason": {"type": "string", "maxLength": inbox.REASON_MAX},
        "duplicate_of": {"type": "string", "description": "Code of the report it repeats."},
        "assigned_to": {**nullable, "description": "Username, or null for nobody."},
    }
    return {
        "Report": {"type": "object", "properties": report, "required": list(report)},
        "ReportChange": closed(change),
        "AlertFromReports": closed(
            {"reports": strings, **content_properties}, required=["reports"]
        ),
    }
