"""Request helpers shared by the views: the signed-in user's unit and audit identity."""

from __future__ import annotations

from flask import abort
from flask import g
from flask import request
from flask_login import current_user

from alerts import audit
from alerts.db import get_db
from alerts.models import Acting
from alerts.models import Unit
from alerts.models import User
from alerts.store import units as unit_store
from alerts.warnings import work


def client_ip() -> str | None:
    """Return the client's address as the WSGI server saw it."""
    return request.remote_addr


def my_unit() -> Unit:
    """Return the signed-in user's unit."""
    unit = unit_store.get_unit(get_db(), current_user.user.unit_id)
    if unit is None:
        abort(403)
    return unit


def actor_of(user: User) -> audit.Actor:
    """Return the audit identity of a user acting in this request."""
    unit = unit_store.get_unit(get_db(), user.unit_id)
    return audit.Actor(user.username, unit.code if unit else None, client_ip())


def actor() -> audit.Actor:
    """Return the audit identity of this request (anonymous before sign-in)."""
    if current_user.is_authenticated:
        return actor_of(current_user.user)
    return audit.Actor("anonymous", None, client_ip())


def acting() -> Acting:
    """Return the signed-in user as acting now (jurisdiction checks use the unit)."""
    return Acting(current_user.user, my_unit(), actor())


def work_counts() -> work.Counts | None:
    """Return the header's counts for the signed-in user, or None before sign-in.

    Offered to templates as a function, so only pages that show the header run the two
    indexed COUNT queries, and only once per page (kept on ``g``).
    """
    if not current_user.is_authenticated:
        return None
    if "work_counts" not in g:
        g.work_counts = work.counts(get_db(), acting())
    return g.work_counts
