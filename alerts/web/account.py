"""The signed-in user's own account: password change, two-factor enrolment, and the staff
channel their work notices go to (confirmed by a code sent there)."""

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
from alerts.clock import utcnow
from alerts.db import get_db
from alerts.residents import addresses
from alerts.security import totp
from alerts.staff import languages
from alerts.staff import notify_channel
from alerts.staff import signin
from alerts.staff import users as staff
from alerts.store import account_changes
from alerts.web.context import acting
from alerts.web.context import actor
from alerts.web.context import my_unit
from alerts.web.forms import PasswordChangeForm
from alerts.web.forms import TotpForm
from alerts.web.forms import show_refusal
from alerts.web.guards import signed_in
from alerts.web.staff_channel_forms import StaffChannelForm
from alerts.web.staff_channel_forms import StaffCodeForm
from alerts.web.staff_channel_forms import StaffLanguageForm

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
    return _profile_page(form), 400 if form.errors else 200


def _profile_page(form=None, channel_form=None, code_form=None, language_form=None) -> str:
    chosen = languages.of_user(get_db(), current_user.user.id, current_app.config)
    required = signin.totp_required(current_user.user, my_unit().level, current_app.config)
    return render_template(
        "account/profile.html",
        form=form or PasswordChangeForm(formdata=None),
        channel_form=channel_form or StaffChannelForm(formdata=None),
        code_form=code_form or StaffCodeForm(formdata=None),
        language_form=language_form or StaffLanguageForm(formdata=None, language=chosen),
        staff_channel=notify_channel.current(get_db(), acting()),
        unit=my_unit(),
        totp_required=required,
        changes=account_changes.of_user(get_db(), current_user.user.id),
    )


@bp.route("/notices", methods=["POST"])
@signed_in
def set_staff_channel():
    """Choose where work notices go; a code is sent there to be typed back."""
    form, status = StaffChannelForm(), 422
    if form.validate_on_submit():
        try:
            address = addresses.normalise_address(form.channel.data, form.address.data)
            notify_channel.start(
                get_db(),
                current_app.config,
                acting(),
                channel=form.channel.data,
                address=address,
                masked=addresses.mask(form.channel.data, address),
                now=utcnow(),
            )
        except errors.Refused as error:
            show_refusal(error, form)
            status = error.status
        else:
            flash(_("A code was sent there. Type it below to confirm."), "info")
            return redirect(url_for("account.profile") + "#work-notices", 303)
    return _profile_page(channel_form=form), status


@bp.route("/notices/confirm", methods=["POST"])
@signed_in
def confirm_staff_channel():
    """Confirm the channel with the code it received."""
    form = StaffCodeForm()
    if form.validate_on_submit():
        try:
            notify_channel.confirm(
                get_db(), current_app.config, acting(), form.code.data or "", utcnow()
            )
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("Confirmed: your work notices go there now."), "info")
            return redirect(url_for("account.profile") + "#work-notices", 303)
    return _profile_page(code_form=form), 422


@bp.route("/notices/remove", methods=["POST"])
@signed_in
def remove_staff_channel():
    """Stop the work notices."""
    if StaffCodeForm().validate_on_submit():
        notify_channel.remove(get_db(), acting())
        flash(_("Work notices stopped."), "info")
    return redirect(url_for("account.profile") + "#work-notices", 303)


@bp.route("/language", methods=["POST"])
@signed_in
def set_notice_language():
    """Choose the language work notices are written in."""
    form = StaffLanguageForm()
    if form.validate_on_submit():
        try:
            languages.choose(get_db(), acting(), form.language.data)
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("Your work notices will be written in this language."), "info")
            return redirect(url_for("account.profile") + "#work-notices", 303)
    return _profile_page(language_form=form), 422


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
