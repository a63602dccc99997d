"""The unit's inbox of residents' reports (routes on the admin blueprint): the list with its
counts and groups, a report's page with its actions, its screenshot, and a warning drafted
from reports.

The rules (jurisdiction, transitions, replies per channel, audit) live in
``alerts.reports.inbox``. A report outside the officer's jurisdiction answers 404, never
403, so its existence does not leak. A resident's words are shown as text only and their
links defanged; a refusal re-renders the page with the API's status, nothing lost.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_decimal
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import Length

from alerts import errors
from alerts.clock import from_text
from alerts.clock import utcnow
from alerts.db import get_db
from alerts.i18n import show_moment
from alerts.models import Role
from alerts.reports import filing
from alerts.reports import inbox
from alerts.store import report_inbox as report_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store.report_inbox import Report
from alerts.web.admin import bp
from alerts.web.context import acting
from alerts.web.context import my_unit
from alerts.web.forms import show_refusal
from alerts.web.guards import signed_in
from alerts.web.warning_forms import CHANNEL_LABELS

SHOW = {
    "open": inbox.TRANSITIONS["confirm"][0],
    **{status: (status,) for status in inbox.STATUSES},
    "all": None,
}
REPORT_STATUS_LABELS = {
    "new": _l("new"),
    "in_review": _l("in review"),
    "confirmed": _l("confirmed"),
    "duplicate": _l("duplicate"),
    "dismissed": _l("dismissed"),
    "forwarded": _l("forwarded up"),
    "withdrawn": _l("withdrawn by the reporter"),
}
SHOW_LABELS = {"open": _l("Waiting"), **REPORT_STATUS_LABELS, "all": _l("All")}
REPORT_ACTION_LABELS = {
    "review": _l("Take for review"),
    "confirm": _l("Confirm"),
    "duplicate": _l("Mark as a repeat"),
    "dismiss": _l("Dismiss"),
    "forward": _l("Forward to the unit above"),
}
HISTORY_LABELS = {
    "report.filed": _l("filed by the resident"),
    "report.withdrawn": _l("withdrawn by the reporter"),
    "report.review": _l("taken for review"),
    "report.confirm": _l("confirmed"),
    "report.duplicate": _l("marked as a repeat"),
    "report.dismiss": _l("dismissed"),
    "report.forward": _l("forwarded to the unit above"),
    "report.assign": _l("assigned"),
    "report.replied": _l("reporter answered"),
    "report.not_told": _l("reporter could not be told"),
    "report.refused": _l("refused"),
    "report.warning_drafted": _l("warning drafted from it"),
}
REPORT_CHANNEL_LABELS = {"portal": _l("Portal"), **CHANNEL_LABELS}


class MoveForm(FlaskForm):
    """One transition: the action, with a reason (dismiss) or the report it repeats."""

    action = HiddenField()
    reason = TextAreaField(_l("Reason"), [Length(max=inbox.REASON_MAX * 2)])
    duplicate_of = StringField(_l("Code of the first report"), [Length(max=40)])


class AssignForm(FlaskForm):
    assigned_to = SelectField(_l("Officer in charge"), validate_choice=False)


class ReplyForm(FlaskForm):
    text = TextAreaField(
        _l("Reply to the reporter"),
        [Length(max=inbox.REPLY_MAX * 2)],
        render_kw={"rows": 4, "data-maxlength": inbox.REPLY_MAX},
    )


class DraftForm(FlaskForm):
    """The reports chosen (checkboxes in the list or a group) to draft a warning from."""

    reports = SelectMultipleField(validate_choice=False)


@bp.app_template_filter("vn_time")
def _vn_time(value: str | None) -> str:
    """Show a stored UTC time in the reader's language, in the display time zone."""
    return show_moment(from_text(value)) if value else ""


@bp.app_template_filter("ago")
def _ago(value: str | None) -> str:
    """Show how long ago a stored UTC time was ("12 phút trước")."""
    return format_timedelta(from_text(value) - utcnow(), add_direction=True) if value else ""


@bp.app_context_processor
def _inbox_globals() -> dict:
    """The nav's count of new reports (computed only when a page shows it) and the labels."""
    return {
        "new_report_count": lambda: inbox.count_new(get_db(), my_unit()),
        "REPORT_STATUS_LABELS": REPORT_STATUS_LABELS,
        "REPORT_CHANNEL_LABELS": REPORT_CHANNEL_LABELS,
    }


def _require_handler() -> None:
    """Let only officers and approvers work the inbox (a unit admin manages accounts)."""
    user = current_user.user
    if not (user.has(Role.OFFICER) or user.has(Role.APPROVER)):
        abort(403)


def _units(reports: list[Report]) -> dict:
    db = get_db()
    ids = {r.unit_id for r in reports} | {r.origin_unit_id for r in reports}
    return {uid: unit_store.get_unit(db, uid) for uid in ids}


@bp.route("/reports")
@signed_in
def reports():
    """The unit's reports and those of the units below (and those it forwarded up), new
    ones first, with the counts and the indicators several residents reported."""
    _require_handler()
    return _inbox_page()


def _inbox_page(status: int = 200, draft_form: DraftForm | None = None):
    db, me = get_db(), acting()
    show = request.args.get("show", "open")
    show = show if show in SHOW else "open"
    found = inbox.list_reports(db, me, statuses=SHOW[show], limit=200)
    counts = inbox.counts(db, me.unit)
    median = counts.median_review_hours
    return render_template(
        "admin/reports.html",
        reports=found,
        indicators=inbox.indicators(db, found),
        units=_units(found),
        counts=counts,
        median=None if median is None else format_decimal(median),
        groups=inbox.groups(db, me),
        show=show,
        shows=SHOW_LABELS,
        kinds=filing.KINDS,
        draft_form=draft_form or DraftForm(),
    ), status


@bp.route("/reports/<code>")
@signed_in
def report(code: str):
    """One report: what the resident said (text only, links defanged), the masked contact,
    the screenshot, its history and the actions the officer may take."""
    _require_handler()
    return _report_page(inbox.visible(get_db(), acting(), code))


def _report_page(found: Report, status: int = 200, **forms):
    db, me = get_db(), acting()
    people = [user_store.get_user(db, i) for i in (found.assigned_to,) if i]
    original = report_store.get_by_id(db, found.duplicate_of) if found.duplicate_of else None
    assign_form = forms.get("assign_form") or AssignForm(assigned_to=_username(people))
    officers = inbox.assignable(db, found) if inbox.may_act(db, me, found) else []
    assign_form.assigned_to.choices = [("", _("Nobody"))] + [
        (u.username, f"{u.full_name} ({u.username})") for u in officers
    ]
    return render_template(
        "admin/report.html",
        report=found,
        indicators=inbox.indicators(db, [found]).get(found.id, []),
        units=_units([found]),
        assignee=people[0] if people else None,
        original=original,
        actions=inbox.allowed_actions(db, me, found),
        may_act=inbox.may_act(db, me, found),
        reach=_reach(found),
        history=inbox.history(db, me, found.code),
        kinds=filing.KINDS,
        action_labels=REPORT_ACTION_LABELS,
        history_labels=HISTORY_LABELS,
        inbox_reply_max=inbox.REPLY_MAX,
        move_form=forms.get("move_form") or MoveForm(),
        assign_form=assign_form,
        reply_form=forms.get("reply_form") or ReplyForm(),
        draft_form=DraftForm(),
    ), status


def _username(people: list) -> str:
    return people[0].username if people else ""


def _reach(found: Report) -> dict:
    """Return how the reporter can be answered: the channel and what it allows, or why not."""
    try:
        where = inbox.destination(get_db(), current_app.config, found)
    except errors.Conflict as unreachable:
        return {"channel": None, "why": _(unreachable.message, **unreachable.params)}
    until = from_text(found.created_at) + inbox.ZALO_WINDOW
    return {
        "channel": where.channel,
        "free_text": where.channel != "sms" and found.status != "withdrawn",
        "window_open": where.channel != "zalo" or utcnow() < until,
        "until": show_moment(until),
    }


def _refused(code: str, error: errors.Refused, form) -> tuple:
    """Show a refusal next to its field (or as a flash), with the API's status."""
    show_refusal(error, form)
    found = inbox.visible(get_db(), acting(), code)
    name = {MoveForm: "move_form", AssignForm: "assign_form", ReplyForm: "reply_form"}
    return _report_page(found, error.status, **{name[type(form)]: form})


def _done(code: str, message: str):
    flash(message, "info")
    return redirect(url_for("admin.report", code=code), 303)


@bp.route("/reports/<code>/move", methods=["POST"])
@signed_in
def move_report(code: str):
    """Make one transition (dismissing needs a reason, a repeat the first report's code)."""
    _require_handler()
    form = MoveForm()
    if not form.validate_on_submit():
        return _report_page(inbox.visible(get_db(), acting(), code), 400, move_form=form)
    try:
        moved = inbox.move(
            get_db(),
            current_app.config,
            acting(),
            code,
            form.action.data or "",
            reason=form.reason.data or "",
            duplicate_of=form.duplicate_of.data or "",
        )
    except errors.Refused as error:
        return _refused(code, error, form)
    status = REPORT_STATUS_LABELS[moved.status]
    return _done(moved.code, _("The report is now: %(status)s.", status=status))


@bp.route("/reports/<code>/assign", methods=["POST"])
@signed_in
def assign_report(code: str):
    """Give the report to an officer of the unit holding it (or to nobody)."""
    _require_handler()
    form = AssignForm()
    if not form.validate_on_submit():
        return _report_page(inbox.visible(get_db(), acting(), code), 400, assign_form=form)
    try:
        assigned = inbox.assign(get_db(), acting(), code, form.assigned_to.data or None)
    except errors.Refused as error:
        return _refused(code, error, form)
    return _done(assigned.code, _("Assignment saved."))


@bp.route("/reports/<code>/reply", methods=["POST"])
@signed_in
def reply_report(code: str):
    """Answer the reporter on the channel they used (within that channel's limits)."""
    _require_handler()
    form = ReplyForm()
    if not form.validate_on_submit():
        return _report_page(inbox.visible(get_db(), acting(), code), 400, reply_form=form)
    try:
        channel = inbox.reply(get_db(), current_app.config, acting(), code, form.text.data or "")
    except errors.Refused as error:
        return _refused(code, error, form)
    label = REPORT_CHANNEL_LABELS.get(channel, channel)
    return _done(code, _("Reply queued: the reporter gets it by %(channel)s.", channel=label))


@bp.route("/reports/<code>/screenshot")
@signed_in
def report_screenshot(code: str):
    """The report's screenshot, for the officers who may see the report only: never
    cached, served with its own content type (re-encoded at filing: nothing else in it)."""
    _require_handler()
    mime, data = inbox.screenshot(get_db(), current_app.config, acting(), code)
    response = Response(data, mimetype=mime)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.route("/reports/draft", methods=["POST"])
@signed_in
def draft_from_reports():
    """Draft a warning from the chosen reports (their indicators, communes and kind, texts
    with blanks to fill), then open it in the warning form."""
    _require_handler()
    form = DraftForm()
    if not form.validate_on_submit():
        return _inbox_page(400, form)
    db, me, codes = get_db(), acting(), form.reports.data or []
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    try:
        start = inbox.draft_start(db, me, codes)
        alert_id = inbox.create_warning(
            db, me, codes, start, config=current_app.config, naive_zone=zone
        )
    except errors.Refused as error:
        show_refusal(error, form)
        return _inbox_page(error.status, form)
    flash(_("Draft made from the reports: fill in the [...] blanks, then save."), "info")
    return redirect(url_for("warnings.edit", alert_id=alert_id), 303)
