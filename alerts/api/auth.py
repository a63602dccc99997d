"""Who is calling the API: the bearer token of the request, and nothing else.

The session cookie is deliberately ignored: a signed-in browser visiting another site must
not be able to drive the API (that is why the API needs no CSRF token).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import current_app
from flask import g
from flask import request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from alerts import audit
from alerts.db import get_db
from alerts.errors import N_
from alerts.models import Acting
from alerts.staff import api_tokens as tokens
from alerts.store import units as unit_store

View = TypeVar("View", bound=Callable)
REALM = "alerts"


def public(view: View) -> View:
    """Mark an API view as open without a token (the same mark as ``web.guards.public``, so
    the access meta-test reads both; the API keeps its own so it never imports the web)."""
    view.access = "public"
    return view


def _bearer() -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _refuse(secret: str | None) -> Unauthorized:
    """Return the 401 to raise; RFC 6750 names a bad token "invalid_token"."""
    challenge = {"realm": REALM}
    if secret is None:
        message = N_("Send a personal access token: Authorization: Bearer <token>.")
    else:
        challenge["error"] = "invalid_token"
        message = N_("The token is unknown or revoked, or its account is disabled.")
    return Unauthorized(message, www_authenticate=WWWAuthenticate("bearer", challenge))


def _authenticate() -> Acting:
    """Return the token's user as acting now; raise 401 without a live token."""
    secret = _bearer()
    if secret is None:
        raise _refuse(None)
    db = get_db()
    user = tokens.authenticate(db, secret, current_app.config, request.remote_addr)
    unit = unit_store.get_unit(db, user.unit_id) if user else None
    if user is None or unit is None:
        raise _refuse(secret)
    return Acting(user, unit, audit.Actor(user.username, unit.code, request.remote_addr))


def token_required(view: View) -> View:
    """Require a live personal access token (401 otherwise); ``acting()`` is its user."""

    @wraps(view)
    def guarded(*args, **kwargs):
        g.api_acting = _authenticate()
        return view(*args, **kwargs)

    guarded.access = "token"
    return guarded


def acting() -> Acting:
    """Return the user this request's token acts for (inside a ``token_required`` view)."""
    return g.api_acting
