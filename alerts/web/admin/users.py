"""User management views for unit admins (routes on the admin blueprint).

The rules (jurisdiction, self-protection, password policy, audit) live in ``alerts.staff.users``;
these views only parse forms, call it and show the outcome.
"""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from alerts import errors
from alerts.db import get_db
from alerts.models import Role
from alerts.staff import users as staff
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.web.admin import bp
from alerts.web.context import acting
from alerts.web.context import my_unit
from alerts.web.forms import ActionForm
from alerts.web.forms import NewUserForm
from alerts.web.forms import PasswordResetForm
from alerts.web.forms import SearchForm
from alerts.web.forms import UserForm
from alerts.web.forms import show_refusal
from alerts.web.guards import role_required


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    """Users the admin manages: of their unit and the units below it."""
    form = SearchForm(request.args)
    query = (form.q.data or "") if form.validate() else ""
    ids = unit_store.unit_ids_in_scope(get_db(), my_unit())
    found = user_store.list_users(get_db(), ids, query=query)
    units = {u.unit_id: unit_store.get_unit(get_db(), u.unit_id) for u in found}
    return render_template("admin/users.html", users=found, units=units, form=form)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_user():
    """Create a user in the admin's unit or a unit below it."""
    form = NewUserForm(unit=my_unit().code)
    if form.validate_on_submit():
        try:
            staff.create_user(
                get_db(),
                acting(),
                username=form.username.data,
                full_name=form.full_name.data,
                unit_code=form.unit.data,
                roles=form.roles.data,
                password=form.password.data,
            )
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("User %(name)s created.", name=form.username.data.strip().lower()), "info")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html", form=form, user=None
    ), 400 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_user(user_id: int):
    """Change a managed user's name, unit, roles or active flag."""
    user, unit = staff.managed_user(get_db(), acting(), user_id)
    form = UserForm(
        data={
            "full_name": user.full_name,
            "unit": unit.code,
            "roles": sorted(user.roles),
            "active": user.active,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            staff.update_user(
                get_db(),
                acting(),
                user_id,
                full_name=form.full_name.data,
                unit_code=form.unit.data,
                roles=form.roles.data,
                active=form.active.data,
            )
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("Changes to %(name)s saved.", name=user.username), "info")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        reset_form=PasswordResetForm(),
        action_form=ActionForm(),
    ), 400 if form.errors else 200


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@role_required(Role.ADMIN)
def reset_password(user_id: int):
    """Set a new password for a managed user (their sessions end)."""
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            staff.reset_password(get_db(), acting(), user_id, form.password.data)
        except errors.Refused as error:
            flash(_(error.message), "error")
        else:
            flash(_("Password changed; the user's sessions were ended."), "info")
    else:
        flash(_("Enter a new password."), "error")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/totp-reset", methods=["POST"])
@role_required(Role.ADMIN)
def reset_totp(user_id: int):
    """Turn off a managed user's second factor so they can enrol a new phone."""
    if ActionForm().validate_on_submit():
        staff.reset_totp(get_db(), acting(), user_id)
        flash(_("Two-factor sign-in was reset."), "info")
    return redirect(url_for("admin.edit_user", user_id=user_id))
