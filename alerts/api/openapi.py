"""The API's own description: an OpenAPI 3.1 document and the problem types it names.

Both are public, so partners can read them before they hold a token. Vocabularies (status,
severity, channels, ...) come from the domain, and a test checks that every route of the
blueprint is described with its methods, so the document cannot drift from the code.
"""

from __future__ import annotations

from flask import abort

from alerts import __version__
from alerts.api import bp
from alerts.api import problems
from alerts.api import reports
from alerts.api import schemas
from alerts.api import serialize
from alerts.api.auth import public
from alerts.warnings.content import MODES
from alerts.warnings.content import WARNING_TYPES

_PROBLEM_TEXT = {
    "forbidden": "You may see this warning but your role or unit may not do this.",
    "conflict": "The warning's state does not allow this, or it changed since you read it.",
    "invalid": "Some fields are invalid; `errors` lists each one with its message.",
}
_ERRORS = {
    "400": "The body is not a JSON object.",
    "401": "No token, or the token is unknown, revoked or its account disabled.",
    "403": "Your role or unit may not do this.",
    "404": "No such warning or report, or outside your jurisdiction.",
    "409": "Not possible in the warning's (or report's) current state.",
    "413": "The body is larger than 3 MB.",
    "422": "Invalid or unknown fields: `errors` lists them.",
    "503": "The server cannot save right now (its disk is full or failing); nothing was saved."
    " Send the same request again after Retry-After seconds.",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}


def _json(schema: dict, media: str = "application/json") -> dict:
    return {"content": {media: {"schema": schema}}}


def _op(summary: str, ok: str, schema: dict, errors: str = "", **extra) -> dict:
    """Return one operation: its success answer and the problems it may answer."""
    responses = {ok: {"description": summary, **_json(schema)}}
    for code in ["401", *errors.split(), "503"]:  # 503: even a read records the token's use
        problem = _json(schemas.ref("Problem"), problems.MEDIA_TYPE)
        responses[code] = {"description": _ERRORS[code], **problem}
    responses["503"]["headers"] = _RETRY_AFTER
    return {"summary": summary, "responses": responses, **extra}


def _body(name: str, required: bool = True) -> dict:
    return {"requestBody": {"required": required, **_json(schemas.ref(name))}}


_ID = [{"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _transition(summary: str, body: str | None = None, errors: str = "403 404 409 422") -> dict:
    extra = _body(body) if body else _body("Empty", required=False)
    return {
        "post": _op(summary, "200", schemas.ref("Alert"), f"400 {errors}", parameters=_ID, **extra)
    }


def _query(name: str, description: str, **schema) -> dict:
    return {
        "name": name,
        "in": "query",
        "schema": {"type": "string", **schema},
        "description": description,
    }


# The admin list's search (alerts/warnings/search.py), always within your jurisdiction.
_SEARCH = [
    _query(
        "q",
        "Words in the headline, description or code; diacritics and case ignored.",
        maxLength=100,
    ),
    _query("region", "A region code: warnings targeting it, a region inside it or above it."),
    _query("unit", "A unit code (ca-01): warnings of that unit and the units below it."),
    _query("type", "A warning type (scam_phone, theft, ...).", enum=list(WARNING_TYPES)),
    _query("status", "Comma-separated statuses, e.g. draft,submitted."),
    _query("mode", "Actual, Exercise or Test.", enum=list(MODES)),
    _query("from", "Published (else drafted) on or after this day, Vietnam time.", format="date"),
    _query("to", "Published (else drafted) on or before this day, Vietnam time.", format="date"),
]


def _alert_paths() -> dict:
    listing = {
        "type": "object",
        "properties": {
            "alerts": {"type": "array", "items": schemas.ref("Alert")},
            "total": {"type": "integer", "description": "How many match, on every page."},
        },
    }
    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}}
    offset = {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}
    created = {"Location": {"schema": {"type": "string", "format": "uri"}}}
    create = _op(
        "Draft a warning", "201", schemas.ref("Alert"), "400 403 413 422", **_body("AlertInput")
    )
    create["responses"]["201"]["headers"] = created
    update = _op(
        "Start the next revision",
        "201",
        schemas.ref("Alert"),
        "400 403 404 409 413 422",
        parameters=_ID,
        **_body("AlertInput", required=False),
    )
    update["responses"]["201"]["headers"] = created
    return {
        "/alerts": {
            "get": _op(
                "Warnings of your unit and below, searched",
                "200",
                listing,
                "422",
                parameters=[*_SEARCH, limit, offset],
            ),
            "post": create,
        },
        "/alerts/{alert_id}": {
            "get": _op("One warning", "200", schemas.ref("Alert"), "404", parameters=_ID),
            "patch": _op(
                "Edit (missing fields keep their value)",
                "200",
                schemas.ref("Alert"),
                "400 403 404 409 413 422",
                parameters=_ID,
                **_body("AlertInput"),
            ),
        },
        "/alerts/{alert_id}/submit": _transition("Submit for approval"),
        "/alerts/{alert_id}/approve": _transition("Approve the version reviewed", "Approval"),
        "/alerts/{alert_id}/reject": _transition("Reject with a reason", "Review"),
        "/alerts/{alert_id}/withdraw": _transition("Withdraw before approval"),
        "/alerts/{alert_id}/cancel": _transition("Cancel at once", "Reason"),
        "/alerts/{alert_id}/update": {"post": update},
        "/alerts/{alert_id}/preview": {
            "get": _op(
                "Every channel's rendering with counts and notes",
                "200",
                schemas.ref("Preview"),
                "404",
                parameters=_ID,
            )
        },
    }


def _other_paths() -> dict:
    regions = {
        "type": "object",
        "properties": {"regions": {"type": "array", "items": schemas.ref("Region")}},
    }
    entries = {
        "type": "object",
        "properties": {"entries": {"type": "array", "items": schemas.ref("AuditEntry")}},
    }
    q = {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100}}
    obj = {
        "name": "object",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
        "description": "The warning id (or alert:<id>).",
    }
    kind = {
        "name": "kind",
        "in": "path",
        "required": True,
        "schema": {"enum": list(problems.TYPES)},
    }
    unauthenticated = {"security": []}
    return {
        "/regions": {
            "get": _op(
                "Find region codes by name, without diacritics",
                "200",
                regions,
                "422",
                parameters=[q],
            )
        },
        "/audit": {
            "get": _op("Audit trail of one warning", "200", entries, "404 422", parameters=[obj])
        },
        "/signing-key": {
            "get": {
                "summary": "The Ed25519 public key that verifies published warnings",
                **unauthenticated,
                "responses": {"200": {"description": "algorithm, key_id, public_key (base64)"}},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                **unauthenticated,
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
        "/problems/{kind}": {
            "get": {
                "summary": "What a problem type means",
                **unauthenticated,
                "parameters": [kind],
                "responses": {"200": {"description": "The problem type"}},
            }
        },
    }


def document() -> dict:
    """Return the OpenAPI 3.1 description of every route under /api/v1."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cảnh báo: crime and scam warnings of Vietnam's police",
            "version": __version__,
            "description": (
                "Send `Authorization: Bearer <token>` (`flask --app alerts create-token USER`)."
                " Times carry a UTC offset. Errors are RFC 9457 application/problem+json;"
                " messages are English unless `Accept-Language: vi`."
            ),
        },
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearer": []}],
        "paths": {**_alert_paths(), **reports.paths(_op, _body), **_other_paths()},
        "components": {
            "schemas": {
                **schemas.components(),
                **reports.components(schemas.closed, schemas.content_properties()),
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI document (public: partners read it before they hold a token)."""
    return serialize.json_response(document())


@bp.get("/problems/<kind>")
@public
def problem_type(kind: str):
    """What a problem ``type`` URI means (our problem types resolve here)."""
    if kind not in problems.TYPES:
        abort(404)
    status, title = problems.TYPES[kind]
    body = {"type": problems.type_uri(kind), "title": title, "status": status}
    return serialize.json_response({**body, "description": _PROBLEM_TEXT[kind]})
