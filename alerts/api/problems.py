"""RFC 9457 problem details: every error under /api/v1 answers application/problem+json.

Domain refusals map to their status (errors.Forbidden 403, Conflict 409, Refused and
Invalid 422, NotFound 404) and keep their message, translated when the caller asked for
Vietnamese (``Accept-Language: vi``); scripts should branch on ``status`` and ``type``,
never on the text. Routing errors (unknown path, wrong method) happen before any blueprint
is chosen, so the app-level handlers are wrapped to answer problems for API paths too.
A write the disk refused (full or failing) answers 503 with Retry-After.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_babel import force_locale
from flask_babel import gettext
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from alerts import errors
from alerts.api import bp
from alerts.api.inputs import UnknownField
from alerts.api.urls import external_url
from alerts.clock import now_text
from alerts.store import health as write_health
from alerts.warnings.indicators import PARSERS

MEDIA_TYPE = "application/problem+json"
LANGUAGES = ("en", "vi")
# Problem types of our own (slug: status, title); plain HTTP errors use "about:blank".
TYPES = {
    "forbidden": (403, "Not allowed"),
    "conflict": (409, "Not possible in the warning's current state"),
    "invalid": (422, "Invalid input"),
}
_KINDS = {403: "forbidden", 409: "conflict", 422: "invalid"}
# Scam indicators are refused under their own names; the API nests them under "indicators".
_NESTED = {kind: f"indicators.{kind}" for kind in PARSERS}
# Details for plain HTTP errors, reusing the web pages' messages (already translated).
_DETAILS = {
    400: "The request was not understood.",
    404: "Not found.",
    405: "This action is not allowed here.",
    413: "What you sent is too large.",
    500: "Something went wrong on our side. The error was logged.",
}


def is_api_request() -> bool:
    """Return whether this request's path lies under /api/v1 (matched or not)."""
    prefix = bp.url_prefix or ""
    return request.path == prefix or request.path.startswith(prefix + "/")


def translate(message: str, params: Mapping[str, object] | None = None) -> str:
    """Return a message in the caller's language: English unless they prefer Vietnamese."""
    language = request.accept_languages.best_match(LANGUAGES) or "en"
    with force_locale(language):
        return gettext(message, **(params or {}))


def type_uri(kind: str | None) -> str:
    """Return the URI naming a problem type (our own types resolve to a short description)."""
    if kind is None:
        return "about:blank"
    return external_url("api.problem_type", kind=kind)


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> Response:
    """Return a problem+json response; ``extra`` adds members such as ``errors``."""
    title = TYPES[kind][1] if kind else HTTP_STATUS_CODES.get(status, "Error")
    body = {"type": type_uri(kind), "title": title, "status": status, "detail": detail, **extra}
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status, headers=dict(headers or {}), mimetype=MEDIA_TYPE)


def _field(problem: errors.Refused) -> str | None:
    """Return the field as the caller sent it (the domain names indicators without a parent)."""
    if isinstance(problem, UnknownField) or not problem.field:
        return problem.field
    return _NESTED.get(problem.field, problem.field)


def _field_errors(refusal: errors.Refused) -> list[dict]:
    """Return every problem of a refusal as ``{"field", "message"}`` (Invalid has several)."""
    problems = refusal.problems if isinstance(refusal, errors.Invalid) else [refusal]
    return [{"field": _field(p), "message": translate(p.message, p.params)} for p in problems]


@bp.errorhandler(errors.Refused)
def on_refused(refusal: errors.Refused) -> Response:
    """A domain rule said no: 403, 409, or 422 with the list of invalid fields."""
    kind = _KINDS.get(refusal.status, "invalid")
    detail = translate(refusal.message, refusal.params)
    if kind == "invalid":
        return problem(refusal.status, detail, kind=kind, errors=_field_errors(refusal))
    return problem(refusal.status, detail, kind=kind)


@bp.errorhandler(errors.NotFound)
def on_not_found(_error: errors.NotFound) -> Response:
    """Unknown, or outside the caller's jurisdiction: the same answer, so nothing leaks."""
    return problem(404, translate(_DETAILS[404]))


@bp.errorhandler(HTTPException)
def on_http_error(error: HTTPException) -> Response:
    """A plain HTTP error (401, 404, 405, 413, ...) as a problem, keeping its headers."""
    status = error.code or 500
    message = error.description
    if message == type(error).description or not message:
        # Werkzeug's own long English text: prefer our shorter, translated one.
        message = _DETAILS.get(status) or message or HTTP_STATUS_CODES.get(status, "")
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem(status, translate(message), headers=headers)


@bp.errorhandler(Exception)
def on_unexpected(error: Exception) -> Response:
    """A bug: log it with its traceback, answer 500 without details. A write the disk
    refused is no bug: 503 with Retry-After (RFC 9110, 15.6.4), nothing saved."""
    fault = errors.storage_fault(error)
    if fault is not None:
        return _storage_refused(fault)
    current_app.logger.exception("Unhandled error on %s", request.path)
    return problem(500, translate(_DETAILS[500]))


def _storage_refused(fault: str) -> Response:
    """Roll back, log once (the route, never the body or token), remember it for /healthz."""
    where = f"{request.method} {request.endpoint or '?'}"
    write_health.refused(g.get("db"), fault, where, now_text())
    headers = {"Retry-After": str(errors.RETRY_AFTER_S)}
    return problem(503, translate(errors.STORAGE_FAILING), headers=headers)


def _for_api_paths(fallback: Callable | None, handler: Callable) -> Callable:
    """Return a handler answering ``handler`` under /api/v1 and ``fallback`` elsewhere."""

    def dispatch(error):
        if is_api_request():
            return handler(error)
        if fallback is not None:
            return fallback(error)
        if isinstance(error, HTTPException):
            return error  # Werkzeug's own page, as if nothing were registered
        raise error

    return dispatch


def init_app(app: Flask) -> None:
    """Answer problems for API paths no view matched (404, 405) and for stray errors there.

    Call after the web layer registered its HTML error handlers: they stay in charge of
    every other path.
    """
    handlers = app.error_handler_spec[None][None]
    for exc_class, handler in ((HTTPException, on_http_error), (Exception, on_unexpected)):
        app.register_error_handler(exc_class, _for_api_paths(handlers.get(exc_class), handler))
