"""Channel accounts for unit admins (routes on the admin blueprint): each account of their
unit and the units below, secrets shown masked, one-field rotation, enable and disable.

The rules (jurisdiction, sealing, audit) live in ``alerts.delivery.channel_accounts``.
"""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import Length

from alerts import errors
from alerts.db import get_db
from alerts.delivery import channel_accounts as accounts
from alerts.models import Role
from alerts.web.admin import bp
from alerts.web.context import acting
from alerts.web.forms import ActiveForm
from alerts.web.forms import show_refusal
from alerts.web.guards import role_required


class RotateForm(FlaskForm):
    key = StringField(_l("Secret"), [Length(max=60)])
    value = PasswordField(_l("New value"), [Length(max=4000)])


@bp.route("/channels")
@role_required(Role.ADMIN)
def channels():
    """The channel accounts the admin manages, secrets masked."""
    views = accounts.managed(get_db(), current_app.config, acting())
    return render_template(
        "admin/channels.html", views=views, rotate_form=RotateForm(), active_form=ActiveForm()
    )


@bp.route("/channels/<int:account_id>/rotate", methods=["POST"])
@role_required(Role.ADMIN)
def rotate_channel_secret(account_id: int):
    """Replace one secret (the worker uses it from its next tick: no restart)."""
    form = RotateForm()
    if form.validate_on_submit():
        try:
            accounts.rotate_secret(
                get_db(), current_app.config, acting(), account_id, form.key.data, form.value.data
            )
        except errors.Refused as error:
            show_refusal(error, form)
            flash(_(error.message, **error.params), "error")
        else:
            flash(_("Secret replaced."), "info")
    return redirect(url_for("admin.channels"), 303)


@bp.route("/channels/<int:account_id>/active", methods=["POST"])
@role_required(Role.ADMIN)
def set_channel_active(account_id: int):
    """Enable (after the engine stopped it) or disable an account."""
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            accounts.set_active(get_db(), acting(), account_id, form.active.data == "1")
        except errors.Refused as error:
            flash(_(error.message, **error.params), "error")
        else:
            flash(_("Channel account updated."), "info")
    return redirect(url_for("admin.channels"), 303)
