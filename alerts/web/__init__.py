"""The web layer: blueprints, CSRF, error pages, security headers and request guards."""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import ServiceUnavailable

from alerts import __version__
from alerts import audit
from alerts import errors
from alerts import migrations
from alerts.clock import from_text
from alerts.db import get_db
from alerts.db import write
from alerts.errors import N_
from alerts.i18n import show_moment
from alerts.staff import signin
from alerts.store import audit as audit_store
from alerts.web import account
from alerts.web import admin
from alerts.web import auth
from alerts.web import demo
from alerts.web import health
from alerts.web import hooks
from alerts.web import page_cache
from alerts.web import portal
from alerts.web import report
from alerts.web import site
from alerts.web import storage
from alerts.web import subscribe
from alerts.web import verify
from alerts.web import warnings
from alerts.web.context import actor
from alerts.web.context import my_unit
from alerts.web.forms import role_names
from alerts.web.warning_forms import LABELS

# Blueprints that never depend on the staff session (the TOTP enrolment guard skips them).
PUBLIC_BLUEPRINTS = {"api", "portal", "verify", "subscribe", "hooks", "report"}
# Endpoints a user who must still enrol a second factor may open.
TOTP_ENROLMENT_ENDPOINTS = {"account.enrol_totp", "auth.logout", "site.set_language", "static"}
# Endpoints a user whose password an admin chose may open before choosing their own.
PASSWORD_CHANGE_ENDPOINTS = {"account.profile", "auth.logout", "site.set_language", "static"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self';"
    " script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# Production is served over HTTPS only: browsers must never fall back to plain HTTP
# (RFC 6797). Development and tests run plain HTTP on loopback, where it would stick.
HSTS = "max-age=31536000; includeSubDomains"


def _audit_refusal(action: str, **detail) -> None:
    """Record a refused request (CSRF, forbidden page) in the audit log.

    On a full disk the entry cannot be written: that is logged, and the refusal still shown
    (the request changed nothing), rather than turning a 403 into an error page.
    """
    db = get_db()
    try:
        with write(db):
            audit_store.append(db, audit.make_entry(actor(), action, request.path[:200], detail))
    except storage.FAULTS as error:
        storage.absorb(error)


def _error_page(code: int, message: str, headers: dict | None = None):
    return render_template("errors/error.html", code=code, message=message), code, headers or {}


def _on_csrf_error(error: CSRFError):
    _audit_refusal("request.csrf_refused", method=request.method)
    return _error_page(
        400,
        _(
            "The form expired or did not come from this site."
            " Go back, reload the page and try again."
        ),
    )


def _on_http_error(error: HTTPException):
    if error.code == 403:
        _audit_refusal("request.forbidden", method=request.method)
    messages = {
        400: _("The request was not understood."),
        403: _("You do not have access to this page."),
        404: _("Not found."),
        405: _("This action is not allowed here."),
        413: _("What you sent is too large."),
        503: _(error.description) if error.description else "",
    }
    # The exception's own headers, e.g. the Allow that RFC 9110 requires on a 405.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return _error_page(error.code or 500, messages.get(error.code, error.name), headers)


def _on_unexpected_error(error: Exception):
    fault = errors.storage_fault(error)
    if fault is not None:
        storage.refused(fault)
        return _error_page(503, storage.page_message(), storage.RETRY_AFTER)
    current_app.logger.exception("Unhandled error on %s", request.path)
    return _error_page(500, _("Something went wrong on our side. The error was logged."))


def _require_schema():
    """Refuse requests (503) while migrations are pending; /healthz still answers.

    Raised, not rendered, so the API answers it as problem+json and the pages as HTML.
    """
    if request.endpoint in ("health.healthz", "static"):
        return None
    if current_app.extensions.get("alerts.schema_ok"):
        return None
    if migrations.pending(get_db()):
        raise ServiceUnavailable(N_("The database is not ready: run `flask --app alerts init-db`."))
    current_app.extensions["alerts.schema_ok"] = True
    return None


def _require_own_password():
    """Send a user whose password an admin set (creation or reset) to choose their own
    before anything else: otherwise the admin could go on acting as them."""
    if request.blueprint in PUBLIC_BLUEPRINTS or not current_user.is_authenticated:
        return None
    if not current_user.user.must_change_password:
        return None
    if request.endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    flash(_("An admin set your password. Choose your own password to continue."), "error")
    return redirect(url_for("account.profile"))


def _require_totp_enrolment():
    """Send approvers who must have a second factor to enrolment before anything else."""
    if not current_app.config["REQUIRE_TOTP"] or request.blueprint in PUBLIC_BLUEPRINTS:
        return None  # the API authenticates by token; residents' pages need no sign-in
    if not current_user.is_authenticated:
        return None
    if request.endpoint in TOTP_ENROLMENT_ENDPOINTS:
        return None
    user = current_user.user
    if user.totp_enabled or not signin.totp_required(user, my_unit().level, current_app.config):
        return None
    flash(_("Your role requires two-factor sign-in. Set it up to continue."), "error")
    return redirect(url_for("account.enrol_totp"))


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)  # a view's own policy (email previews) wins
    if current_app.config["ENV"] == "production":
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        # Forms, CSRF tokens, sessions: no cache keeps them (public pages say otherwise).
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def _localtime(value: str | None) -> str:
    """Format a stored UTC timestamp in the display time zone."""
    return show_moment(from_text(value)) if value else ""


def _in_vietnamese(params: dict) -> dict:
    """Mark a message's text parameters as Vietnamese (a preview note quotes the words
    residents receive), so that the English page declares them (WCAG 3.1.2)."""
    return {
        k: Markup('<span lang="vi">%s</span>') % v if isinstance(v, str) else v
        for k, v in params.items()
    }


def init_app(app: Flask) -> None:
    """Register everything the web layer needs."""
    CSRFProtect(app)
    app.session_interface = page_cache.SessionInterface()
    auth.init_app(app)
    for blueprint in (
        site.bp,
        admin.bp,
        account.bp,
        health.bp,
        warnings.bp,
        demo.bp,
        portal.bp,
        verify.bp,
        subscribe.bp,
        hooks.bp,
        report.bp,
    ):
        app.register_blueprint(blueprint)
    app.register_error_handler(CSRFError, _on_csrf_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(Exception, _on_unexpected_error)
    app.before_request(_require_schema)
    app.before_request(_require_own_password)
    app.before_request(_require_totp_enrolment)
    app.after_request(_security_headers)
    app.after_request(storage.forget_on_success)
    app.jinja_env.filters.update(
        localtime=_localtime, role_names=role_names, in_vietnamese=_in_vietnamese
    )
    app.jinja_env.globals["APP_VERSION"] = __version__
    app.jinja_env.globals.update(LABELS, frame_doc=warnings.frame_doc)
    app.register_error_handler(errors.NotFound, lambda _e: _error_page(404, _("Not found.")))
    with app.app_context():
        # Checked once at start; requests re-check until `init-db` has run.
        app.extensions["alerts.schema_ok"] = not migrations.pending(get_db())
