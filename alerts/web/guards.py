"""Access rules for views: every route declares who may open it.

``public``, ``signed_in`` and ``role_required`` mark the view (a test checks that every
route carries a mark); the role and jurisdiction checks themselves live in the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user
from flask_login import login_required

from alerts.models import Role

View = TypeVar("View", bound=Callable)


def public(view: View) -> View:
    """Mark a view as open to everyone."""
    view.access = "public"
    return view


def signed_in(view: View) -> View:
    """Require a signed-in user."""
    guarded = login_required(view)
    guarded.access = "signed_in"
    return guarded


def role_required(role: Role) -> Callable[[View], View]:
    """Require a signed-in user holding the role (403 otherwise)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.user.has(role):
                abort(403)
            return view(*args, **kwargs)

        wrapped = login_required(guarded)
        wrapped.access = f"role:{role.value}"
        return wrapped

    return decorate
