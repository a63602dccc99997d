"""The dead-letter page: every warning's dead deliveries in one's jurisdiction (the ministry:
all of them), by channel account, with "replay all for this account"."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _

from alerts import errors
from alerts.db import get_db
from alerts.delivery import dead_letters
from alerts.models import Role
from alerts.store import units as unit_store
from alerts.web.admin import bp
from alerts.web.context import acting
from alerts.web.guards import role_required
from alerts.web.warning_forms import ReasonForm


@bp.route("/dead-letters")
@role_required(Role.APPROVER)
def dead_letter_overview():
    """Dead deliveries by channel account, most first."""
    db = get_db()
    rows = dead_letters.overview(db, acting())
    units = {uid: unit_store.get_unit(db, uid) for uid in {r["unit_id"] for r in rows}}
    return render_template("admin/dead_letters.html", rows=rows, units=units, form=ReasonForm())


@bp.route("/dead-letters/<int:account_id>/replay", methods=["POST"])
@role_required(Role.APPROVER)
def replay_account(account_id: int):
    """Queue again every dead delivery of one account that is still in force (audited)."""
    if not ReasonForm().validate_on_submit():
        return redirect(url_for("admin.dead_letter_overview"), 303)
    try:
        count = dead_letters.replay_account(get_db(), acting(), account_id)
    except errors.Refused as error:
        flash(_(error.message, **error.params), "error")
        return redirect(url_for("admin.dead_letter_overview"), 303)
    flash(
        _("%(n)d deliveries queued again; the worker sends them on its next pass.", n=count), "info"
    )
    return redirect(url_for("admin.dead_letter_overview"), 303)
