"""The signed-in user's own account: password change and two-factor enrolment."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from alerts import errors
from alerts.db import get_db
from alerts.security import totp
from alerts.staff import signin
from alerts.staff import users as staff
from alerts.store import account_changes
from alerts.web.context import actor
from alerts.web.context import my_unit
from alerts.web.forms import PasswordChangeForm
from alerts.web.forms import TotpForm
from alerts.web.forms import show_refusal
from alerts.web.guards import signed_in

bp = Blueprint("account", __name__, url_prefix="/account")
PENDING_SECRET = "totp_secret_pending"


@bp.route("/", methods=["GET", "POST"])
@signed_in
def profile():
    """Show the account and change the password (other sessions end)."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            staff.change_own_password(
                get_db(),
                current_user.user,
                actor(),
                form.current_password.data,
                form.new_password.data,
                keep=signin.token_hash(current_user.token),
            )
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("Password changed. Your other sessions were ended."), "info")
            return redirect(url_for("account.profile"))
    required = signin.totp_required(current_user.user, my_unit().level, current_app.config)
    return render_template(
        "account/profile.html",
        form=form,
        unit=my_unit(),
        totp_required=required,
        changes=account_changes.of_user(get_db(), current_user.user.id),
    ), 400 if form.errors else 200


@bp.route("/totp", methods=["GET", "POST"])
@signed_in
def enrol_totp():
    """Enrol an authenticator app: show a QR code, then confirm with a first code."""
    if current_user.user.totp_enabled:
        flash(_("Two-factor sign-in is already on."), "info")
        return redirect(url_for("account.profile"))
    secret = session.get(PENDING_SECRET) or totp.new_secret()
    session[PENDING_SECRET] = secret
    form = TotpForm()
    if form.validate_on_submit():
        try:
            staff.enable_totp(get_db(), current_user.user, actor(), secret, form.code.data)
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            session.pop(PENDING_SECRET, None)
            flash(_("Two-factor sign-in is on."), "info")
            return redirect(url_for("account.profile"))
    uri = totp.provisioning_uri(
        secret, current_user.user.username, current_app.config["TOTP_ISSUER"]
    )
    return render_template(
        "account/totp.html", form=form, qr=totp.qr_data_uri(uri), secret=secret
    ), 400 if form.errors else 200
