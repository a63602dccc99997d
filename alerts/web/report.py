"""The residents' "Báo tin cho Công an" pages: file a report with one's commune police, and
withdraw it by its reference. No sign-in; every rule is in ``alerts.reports.filing``.

The form is multipart (an optional screenshot), so this view alone accepts a body up to
``UPLOAD_LIMIT`` (the app's limit stays 2 MB). The limit must be raised before the body is
read, and the app-wide CSRF check reads it first: so that check is skipped for this one
view, which runs the same check itself right after raising the limit.

The commune is picked from a province, then its communes (no JavaScript needed),
prefilled from ``?region=`` or the commune the portal remembers. Nothing about
a report is public: the answer page is the only place it is shown back, to the one who
filed it, with its links defanged.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField

from alerts.db import get_db
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.i18n import show_day
from alerts.models import Level
from alerts.reports import filing
from alerts.reports import screenshots
from alerts.reports.shown import defang
from alerts.reports.shown import defang_text
from alerts.store import regions as region_store
from alerts.web.context import client_ip
from alerts.web.forms import show_refusal
from alerts.web.guards import public
from alerts.web.portal import REGION_COOKIE

bp = Blueprint("report", __name__)
UPLOAD_LIMIT = screenshots.MAX_BYTES + 256 * 1024  # the screenshot and the form's fields
INDICATOR_FIELDS = ("phones", "accounts", "links")


class ReportForm(FlaskForm):
    kind = RadioField(_l("What happened?"), validate_choice=False)
    province = SelectField(_l("Province or city"), validate_choice=False)
    region = SelectField(_l("Your commune or ward"), validate_choice=False)
    text = TextAreaField(_l("Tell us what happened"))
    phones = TextAreaField(_l("The scammer's phone numbers"))
    accounts = TextAreaField(_l("Bank accounts they asked you to pay into"))
    links = TextAreaField(_l("Links (web addresses) they sent"))
    image = FileField(_l("A screenshot (optional)"))
    contact = StringField(_l("Your phone number or email (optional)"))


class WithdrawForm(FlaskForm):
    code = StringField(_l("Reference code"))


@bp.app_template_filter("defang")
def _defang(value: str) -> str:
    """Show a link so that nothing can open it (for every page that shows a report)."""
    return defang(value)


@bp.app_template_filter("defang_text")
def _defang_text(value: str) -> str:
    """Show free text with the web addresses in it defanged."""
    return defang_text(value)


def _prefill() -> tuple[str, str]:
    """Return the province and commune to preselect: ``?region=``, else the remembered one."""
    code = request.args.get("region") or request.cookies.get(REGION_COOKIE, "")
    region = region_store.get_region(get_db(), code[:8])
    if region is None or region.level == Level.NATION:
        return "", ""
    if region.level == Level.COMMUNE:
        return region.parent_code or "", region.code
    return region.code, ""


def _fill(form: ReportForm) -> None:
    """Offer the kinds, the provinces and the chosen province's communes."""
    db = get_db()
    form.kind.choices = [(k, _(label)) for k, label in filing.KINDS.items()]
    provinces = region_store.child_regions(db, "vn")
    form.province.choices = [("", _("Choose a province or city"))]
    form.province.choices += [(p.code, p.name) for p in provinces]
    if request.method == "GET":
        form.province.data, form.region.data = _prefill()
    chosen = next((p for p in provinces if p.code == form.province.data), None)
    form.region.choices = []
    if chosen is not None:
        form.region.choices = [("", _("Choose your commune or ward"))]
        communes = region_store.child_regions(db, chosen.code)
        form.region.choices += [(c.code, c.name) for c in communes]


def _lines(text: str | None) -> list[str]:
    return (text or "").splitlines()


def _screenshot() -> bytes | None:
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return None
    return upload.read(screenshots.MAX_BYTES + 1)


@bp.route("/report", methods=["GET", "POST"])
@public
def start():
    """The form; a POST with ``action=report`` files it, ``action=province`` only shows the
    province's communes."""
    request.max_content_length = UPLOAD_LIMIT
    current_app.extensions["csrf"].protect()  # exempt from the automatic check (docstring)
    form = ReportForm()
    _fill(form)
    status = 200
    if request.form.get("action") == "report" and form.validate_on_submit():
        try:
            filed = filing.file_report(
                get_db(),
                current_app.config,
                channel="portal",
                kind=form.kind.data,
                region_code=form.region.data,
                text=form.text.data,
                indicators={f: _lines(getattr(form, f).data) for f in INDICATOR_FIELDS},
                image=_screenshot(),
                contact=form.contact.data,
                ip=client_ip(),
            )
        except Refused as error:
            show_refusal(error, form)
            status = error.status
        else:
            purge_date = show_day(filed.purge_after)
            page = "report/filed.html"
            return render_template(page, filed=filed, kinds=filing.KINDS, purge_date=purge_date)
    return render_template("report/start.html", form=form, max_text=filing.MAX_TEXT), status


@bp.route("/report/withdraw", methods=["GET", "POST"])
@public
def withdraw():
    """Withdraw a report with its reference code (prefilled from ``?code=``)."""
    form = WithdrawForm()
    if request.method == "GET":
        form.code.data = request.args.get("code", "")[:20]
    status = 200
    if form.validate_on_submit():
        try:
            done = filing.withdraw(get_db(), form.code.data or "", ip=client_ip())
        except NotFound:
            form.code.errors = [_("No report has this reference code. Check it and try again.")]
            status = 404
        except Refused as error:
            show_refusal(error, form)
            status = error.status
        else:
            return render_template("report/withdrawn.html", done=done)
    return render_template("report/withdraw.html", form=form), status


@bp.record_once
def _exempt_from_csrf(state: BlueprintSetupState) -> None:
    """Skip the automatic CSRF check for the form, which checks it itself (see above)."""
    state.app.extensions["csrf"].exempt(start)
