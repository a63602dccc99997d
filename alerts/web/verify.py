"""The residents' verify page: paste a message, a code or a link to learn whether it is a
genuine police warning, or look up a phone number, account or link in published warnings.

Both forms live on one page (``verify.check`` and ``verify.lookup`` answer it); GET with
``?q=`` works too, so a link to a check can be shared. Nothing is stored: the views only
read, and a refused input (too long, empty, not a number or link) re-renders the page with
the message and status 422. The rules live in ``alerts.residents.verify``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms import TextAreaField

from alerts.db import get_db
from alerts.errors import Refused
from alerts.residents import verify
from alerts.web.forms import show_refusal
from alerts.web.guards import public

bp = Blueprint("verify", __name__)
KIND_LABELS = {
    "phone": _l("Phone number"),
    "account": _l("Bank account"),
    "link": _l("Link"),
    "number": _l("Number or amount"),
}


class CheckForm(FlaskForm):
    text = TextAreaField(_l("Message, code or link"))


class LookupForm(FlaskForm):
    value = StringField(_l("Phone number, bank account or link"))


def _asked(form: FlaskForm, field: str) -> str | None:
    """Return what was submitted (a valid POST, or ``?q=`` on GET), or None for a blank page."""
    if request.method == "POST":
        return (getattr(form, field).data or "") if form.validate_on_submit() else None
    asked = request.args.get("q")
    if asked is not None:
        getattr(form, field).data = asked
    return asked


def _page(check_form: CheckForm, lookup_form: LookupForm, status: int = 200, **found):
    return (
        render_template(
            "verify/check.html",
            form=check_form,
            lookup_form=lookup_form,
            kind_labels=KIND_LABELS,
            max_text=verify.MAX_TEXT,
            **found,
        ),
        status,
    )


@bp.route("/verify", methods=["GET", "POST"])
@public
def check():
    """Check a pasted message, code or link: genuine, altered, or not official."""
    form, lookup_form = CheckForm(), LookupForm(formdata=None)
    text = _asked(form, "text")
    if text is None:
        return _page(form, lookup_form)
    try:
        result = verify.check(get_db(), text, current_app.config)
    except Refused as problem:
        show_refusal(problem, form)
        return _page(form, lookup_form, 422)
    return _page(form, lookup_form, result=result)


@bp.route("/verify/lookup", methods=["GET", "POST"])
@public
def lookup():
    """Look up a phone number, bank account or link in published scam warnings."""
    form, lookup_form = CheckForm(formdata=None), LookupForm()
    value = _asked(lookup_form, "value")
    if value is None:
        return _page(form, lookup_form)
    try:
        found = verify.lookup(get_db(), value, current_app.config)
    except Refused as problem:
        show_refusal(problem, lookup_form)
        return _page(form, lookup_form, 422)
    return _page(form, lookup_form, found=found)
