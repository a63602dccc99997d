"""Sign-in, second factor and sign-out views, and the Flask-Login wiring.

Flask-Login keeps only our session token in the signed cookie; the session itself is a
database row (``alerts.staff.signin``), so a new token is issued at every sign-in and the row is
revoked at sign-out.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from alerts.db import get_db
from alerts.i18n import LANG_COOKIE
from alerts.models import User
from alerts.staff import languages
from alerts.staff import signin
from alerts.store import users as user_store
from alerts.web.context import actor
from alerts.web.context import actor_of
from alerts.web.context import client_ip
from alerts.web.context import work_counts
from alerts.web.forms import SignInForm
from alerts.web.forms import TotpForm
from alerts.web.guards import public

bp = Blueprint("auth", __name__, url_prefix="/auth")
PENDING_TTL_SECONDS = 300


class SessionUser(UserMixin):
    """The signed-in user as Flask-Login sees it: our User plus the session token."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token


def _load(token: str) -> SessionUser | None:
    user = signin.load_session(get_db(), token, current_app.config)
    return SessionUser(user, token) if user else None


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("admin.dashboard")  # the person's work (alerts/web/admin/home.py)


def _finish(user: User) -> object:
    next_url = safe_next(session.get("next") or request.args.get("next"))
    session.clear()
    token = signin.start_session(get_db(), user, actor_of(user))
    languages.remember_ui(get_db(), user.id, request.cookies.get(LANG_COOKIE))
    login_user(SessionUser(user, token))
    session.permanent = True
    return redirect(next_url)


def _flash_wait(seconds: int) -> None:
    """Tell a throttled user how long to wait, in whole minutes rounded up."""
    minutes = max(1, -(-seconds // 60))
    flash(_("Too many failed attempts. Try again in %(n)d minute(s).", n=minutes), "error")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Ask for username and password; go on to the second factor when the account has one."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.errors else 200
    outcome = signin.check_password(
        get_db(),
        form.username.data,
        form.password.data,
        client_ip(),
        current_app.config,
        code=form.code.data,
    )
    if outcome.error == "throttled":
        _flash_wait(outcome.wait_seconds)
        return render_template("auth/login.html", form=form, throttled=True), 429
    if outcome.error:
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form), 401
    if outcome.needs_totp:
        next_url = request.args.get("next")
        session.clear()
        session.update(pending_user=outcome.user.id, pending_at=time.time(), next=next_url)
        return redirect(url_for("auth.totp"))
    return _finish(outcome.user)


@bp.route("/totp", methods=["GET", "POST"])
@public
def totp():
    """Ask for the 6-digit code of a user whose password was just accepted."""
    user_id, started = session.get("pending_user"), session.get("pending_at", 0)
    user = user_store.get_user(get_db(), user_id) if user_id else None
    if user is None or time.time() - started > PENDING_TTL_SECONDS:
        session.clear()
        flash(_("Please sign in again."), "error")
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if not form.validate_on_submit():
        return render_template("auth/totp.html", form=form), 400 if form.errors else 200
    wait = signin.wait_seconds(get_db(), user.username, client_ip())
    if wait:
        _flash_wait(wait)
        return render_template("auth/totp.html", form=form), 429
    if not signin.check_totp(get_db(), user, form.code.data, client_ip(), current_app.config):
        flash(_("The code is wrong or was already used."), "error")
        return render_template("auth/totp.html", form=form), 401
    return _finish(user)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """End the session in the database and in the cookie."""
    if current_user.is_authenticated:
        signin.end_session(get_db(), current_user.token, actor())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    """Set up Flask-Login and register the views."""
    manager = LoginManager(app)
    manager.user_loader(_load)
    manager.login_view = "auth.login"
    manager.login_message = None
    manager.session_protection = "basic"
    app.context_processor(lambda: {"work_counts": work_counts})
    app.register_blueprint(bp)
