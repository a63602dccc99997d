"""Form definitions (Flask-WTF: CSRF token plus field validation), no database access."""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from alerts.models import Role
from alerts.security.passwords import MAX_LENGTH


def _required() -> DataRequired:
    return DataRequired(message=_l("This field is required."))


def _max(n: int) -> Length:
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


ROLE_LABELS = {
    Role.OFFICER: _l("Officer (drafts warnings)"),
    Role.APPROVER: _l("Approver"),
    Role.ADMIN: _l("Unit admin (manages users)"),
}


ROLE_NAMES = {
    Role.OFFICER: _l("officer"),
    Role.APPROVER: _l("approver"),
    Role.ADMIN: _l("unit admin"),
}


def role_names(roles) -> str:
    """Return the translated names of roles, in a fixed order."""
    return ", ".join(str(ROLE_NAMES[r]) for r in Role if r in roles)


def show_refusal(error, form) -> None:
    """Show a domain refusal (``alerts.errors.Refused``, or every problem of ``Invalid``)
    next to its field, or as a flash when no field of the form matches."""
    for problem in getattr(error, "problems", [error]):
        message = _(problem.message, **problem.params)
        field = getattr(form, problem.field, None) if problem.field else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


class CheckboxesField(SelectMultipleField):
    """Several choices shown as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), [_required(), _max(64)])
    password = PasswordField(_l("Password"), [_required(), _max(MAX_LENGTH)])
    # Shown only once this address is throttled: a valid code still lets the owner in.
    code = StringField(_l("6-digit code"), [Optional(), _max(10)])


class TotpForm(FlaskForm):
    code = StringField(_l("6-digit code"), [_required(), _max(10)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), [_required(), _max(MAX_LENGTH)])
    new_password = PasswordField(_l("New password"), [_required(), _max(MAX_LENGTH)])


class UserForm(FlaskForm):
    full_name = StringField(_l("Full name"), [_required(), _max(100)])
    unit = StringField(_l("Unit code"), [_required(), _max(20)])
    roles = CheckboxesField(
        _l("Roles"), choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role]
    )
    active = BooleanField(_l("Active"), default=True)


class NewUserForm(UserForm):
    username = StringField(_l("Username"), [_required(), _max(40)])
    password = PasswordField(_l("Initial password"), [_required(), _max(MAX_LENGTH)])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), [_required(), _max(MAX_LENGTH)])


class ActionForm(FlaskForm):
    """A form with nothing but the CSRF token, for one-button actions."""


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), [Optional(), _max(100)])


class ActiveForm(FlaskForm):
    """Turn something on ("1") or off ("0"): a channel account, a unit's template."""

    active = HiddenField()
