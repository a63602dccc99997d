"""Warning views: the list, drafting from a template, the warning page with its timeline,
the approval queue with what changed, and one POST route per workflow action.

The rules live in ``alerts.warnings.workflow``; a refusal re-renders the page with the message and
the HTTP status the API would give (403, 409, 422), so nothing is lost and nothing changes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from alerts import errors
from alerts.clock import from_text
from alerts.db import get_db
from alerts.delivery import progress
from alerts.models import Role
from alerts.render import Rendering
from alerts.store import audit as audit_store
from alerts.store import deliveries as delivery_store
from alerts.store import images as image_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as store
from alerts.warnings import diff
from alerts.warnings import images
from alerts.warnings import publication
from alerts.warnings import search
from alerts.warnings import separation
from alerts.warnings import template_blanks
from alerts.warnings import warning_templates
from alerts.warnings import workflow
from alerts.warnings.content import Content
from alerts.warnings.models import Alert
from alerts.warnings.models import Status
from alerts.web import storage
from alerts.web.admin.home import region_json
from alerts.web.context import acting
from alerts.web.context import my_unit
from alerts.web.forms import show_refusal
from alerts.web.guards import role_required
from alerts.web.guards import signed_in
from alerts.web.warning_forms import REFUTATION_FIELDS
from alerts.web.warning_forms import ListFilterForm
from alerts.web.warning_forms import ReasonForm
from alerts.web.warning_forms import ReviewForm
from alerts.web.warning_forms import WarningForm
from alerts.web.warning_forms import refutation_data

bp = Blueprint("warnings", __name__, url_prefix="/admin/warnings")
SHOW = {
    "open": (Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.REJECTED),
    "review": (Status.SUBMITTED,),
    "published": (Status.PUBLISHED,),
    "closed": (Status.WITHDRAWN, Status.CANCELLED, Status.EXPIRED),
    "all": None,
}
CONTENT_FIELDS = (
    "headline",
    "description",
    "instruction",
    "category",
    "warning_type",
    "severity",
    "urgency",
    "certainty",
    "mode",
    "link",
    "headline_en",
    "description_en",
    "instruction_en",
)
INDICATOR_FIELDS = ("phones", "accounts", "links")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
LIST_PAGE = 50
MAX_PAGE = 10_000
# The email preview's own policy (see email_preview); these replace the admin's headers.
EMAIL_PREVIEW_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline';"
    " img-src 'self' data:; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def _local_input(value: str | None) -> str:
    """Return a stored UTC time as the value of a datetime-local input (display zone)."""
    return from_text(value).astimezone(_zone()).strftime(LOCAL_FORMAT) if value else ""


def _form_data(content: Content | dict) -> dict:
    """Return form data for a stored content (or a template's fields)."""
    if isinstance(content, dict):
        return dict(content)
    data = {name: getattr(content, name) for name in CONTENT_FIELDS}
    data.update({name: "\n".join(getattr(content.indicators, name)) for name in INDICATOR_FIELDS})
    data.update(refutation_data(content.refutation))
    data["regions"] = " ".join(content.regions)
    data["channels"] = list(content.channels)
    data["publish_at"] = _local_input(content.publish_at)
    data["expires_at"] = _local_input(content.expires_at)
    return data


def _submission(form: WarningForm, image: str | None) -> dict:
    """Return what the form sent, as the domain takes it (an uploaded image stored first)."""
    raw = {name: getattr(form, name).data or "" for name in CONTENT_FIELDS}
    raw.update({name: getattr(form, name).data or "" for name in INDICATOR_FIELDS})
    raw.update({name: getattr(form, name).data or "" for name in REFUTATION_FIELDS})
    raw.update(
        regions=form.regions.data or "",
        channels=form.channels.data or [],
        publish_at=form.publish_at.data or None,
        expires_at=form.expires_at.data or None,
        image=None if form.remove_image.data else image,
    )
    upload = form.image.data
    if upload and getattr(upload, "filename", ""):
        raw["image"] = images.store_image(get_db(), upload.read(images.MAX_BYTES + 1))
    return raw


def _selected_regions(codes) -> list[dict]:
    db = get_db()
    counts = region_store.commune_counts(db)
    found = (region_store.get_region(db, c) for c in codes)
    return [region_json(r, counts) for r in found if r is not None]


def _render_form(form: WarningForm, alert: Alert | None, status: int = 200, template=None):
    codes = (form.regions.data or "").split()
    return render_template(
        "warnings/form.html",
        form=form,
        alert=alert,
        template=template,
        templates=warning_templates.available(get_db(), acting()) if alert is None else [],
        selected=_selected_regions(codes[:400]),
        unit=my_unit(),
        now_local=datetime.now(_zone()).strftime(LOCAL_FORMAT),
    ), status


@bp.route("/")
@signed_in
def index():
    """Warnings of the user's unit and the units below it: a tab by where they stand, narrowed
    by a search (words without diacritics, region, unit, type, status, mode, dates)."""
    db = get_db()
    searching = any(request.args.get(name) for name in search.PARAMETERS)
    form = ListFilterForm(request.args)
    show = form.show.data if form.validate() and "show" in request.args else None
    show = show or ("all" if searching else "open")
    page = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)
    found, total, problems = [], 0, []
    try:
        query = search.parse(db, acting(), request.args, _zone())
    except errors.Invalid as error:
        problems = error.problems
    else:
        if query.statuses is None and SHOW[show] is not None:
            query = replace(query, statuses=SHOW[show])
        offset = (page - 1) * LIST_PAGE
        found, total = search.search(db, query, limit=LIST_PAGE, offset=offset)
    page_args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "warnings/list.html",
        alerts=found,
        show=show,
        units=_units_of(found),
        shows=SHOW,
        args=request.args,
        page_args=page_args,
        problems=problems,
        total=total,
        page=page,
        pages=max(1, -(-total // LIST_PAGE)),
    ), 422 if problems else 200


def _units_of(alerts: list[Alert]) -> dict:
    db = get_db()
    return {uid: unit_store.get_unit(db, uid) for uid in {a.unit_id for a in alerts}}


@bp.route("/queue")
@role_required(Role.APPROVER)
def queue():
    """Warnings waiting for this approver, each with what changed since it was last seen."""
    db, me = get_db(), acting()
    unit_ids = unit_store.unit_ids_in_scope(db, me.unit)
    waiting = store.list_alerts(db, unit_ids, statuses=(Status.SUBMITTED,))
    mine = [a for a in waiting if "approve" in workflow.allowed_actions(db, me, a)]
    return render_template(
        "warnings/queue.html",
        alerts=mine,
        units=_units_of(mine),
        reviews={a.id: _review(a) for a in mine},
    )


def _review(alert: Alert) -> dict:
    """Return the diff against the version last reviewed, or the revision this updates."""
    db = get_db()
    baseline, label = None, None
    if alert.reviewed_hash and alert.reviewed_hash != alert.content_hash:
        baseline = store.get_version(db, alert.id, alert.reviewed_hash)
        label = "review"
    elif alert.references_id:
        previous = store.get_alert(db, alert.references_id)
        baseline = previous.content if previous else None
        label = "revision"
    changes = diff.changes(baseline, alert.content) if baseline else []
    return {"changes": changes, "label": label, "communes": _communes(alert.content.regions)}


def _communes(codes) -> int:
    return sum(r["communes"] for r in _selected_regions(codes))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new():
    """Draft a warning, optionally starting from a template."""
    template = None
    if request.method == "GET" and request.args.get("template", "").isdigit():
        template = warning_templates.get_available(
            get_db(), acting(), int(request.args["template"])
        )
    form = WarningForm(data=_form_data(_known_blanks_filled(template)) if template else None)
    if not form.is_submitted() and not template:
        form.regions.data = my_unit().region_code
    if form.validate_on_submit():
        try:
            alert_id = workflow.create(
                get_db(),
                acting(),
                _submission(form, None),
                config=current_app.config,
                naive_zone=_zone(),
            )
        except errors.Refused as error:
            show_refusal(error, form)
        except storage.FAULTS as error:
            storage.keep_form(error)
            return (*_render_form(form, None, 503, template), storage.RETRY_AFTER)
        else:
            flash(_("Draft saved. Check it, then send it for approval."), "info")
            return redirect(url_for("warnings.show", alert_id=alert_id))
    if template and not form.regions.data:
        form.regions.data = my_unit().region_code
    return _render_form(form, None, 422 if form.errors else 200, template)


def _known_blanks_filled(template) -> dict:
    """Return a template's fields with the unit's name and region already written in."""
    unit = my_unit()
    region = region_store.get_region(get_db(), unit.region_code)
    return template_blanks.fill_known(template.fields, unit, region)


@bp.route("/<int:alert_id>/edit", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def edit(alert_id: int):
    """Change a warning before publication (after approval it goes back for review)."""
    alert = workflow.visible(get_db(), acting(), alert_id)
    form = WarningForm(data=_form_data(alert.content) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            workflow.edit(
                get_db(),
                acting(),
                alert_id,
                _submission(form, alert.content.image),
                config=current_app.config,
                naive_zone=_zone(),
            )
        except errors.Refused as error:
            show_refusal(error, form)
        except storage.FAULTS as error:
            storage.keep_form(error)
            return (*_render_form(form, alert, 503), storage.RETRY_AFTER)
        else:
            flash(_("Changes saved."), "info")
            return redirect(url_for("warnings.show", alert_id=alert_id))
    return _render_form(form, alert, 422 if form.errors else 200)


@bp.route("/<int:alert_id>")
@signed_in
def show(alert_id: int):
    """The warning with its targets, indicators, actions and timeline."""
    return _page(workflow.visible(get_db(), acting(), alert_id))


def _page(alert: Alert, status: int = 200, **forms):
    db = get_db()
    revisions = store.series(db, alert.series_id)
    writers = sorted(separation.writers(db, alert))
    changes = separation.recent_changes(db, set(writers))
    people = _people(alert) | set(writers) | {c.user_id for c in changes}
    users = {uid: user_store.get_user(db, uid) for uid in people}
    return render_template(
        "warnings/show.html",
        alert=alert,
        unit=unit_store.get_unit(db, alert.unit_id),
        users=users,
        writers=writers,
        account_changes=changes,
        regions=_selected_regions(alert.content.regions),
        actions=workflow.allowed_actions(db, acting(), alert),
        review=_review(alert),
        revisions=revisions,
        timeline=audit_store.for_objects(db, [f"alert:{a.id}" for a in revisions]),
        previews=publication.preview(db, alert, current_app.config),
        signatures=publication.signature_checks(db, alert, current_app.config),
        delivery=progress.progress(db, alert),
        dead=progress.dead_letters(db, alert),
        reported=progress.reported_failed(db, alert),
        review_form=forms.get("review_form") or ReviewForm(content_hash=alert.content_hash),
        cancel_form=forms.get("cancel_form") or ReasonForm(),
    ), status


@bp.route("/<int:alert_id>/preview/email.html")
@signed_in
def email_preview(alert_id: int):
    """The email exactly as it goes out, for the approval screen's sandboxed frame.

    Its own policy: sandboxed (no scripts, an opaque origin), nothing loaded, but the inline
    styles every email carries applied, and framed by our own pages only."""
    alert = workflow.visible(get_db(), acting(), alert_id)
    rendering = publication.preview(get_db(), alert, current_app.config).get("email")
    if not isinstance(rendering, Rendering):
        raise errors.NotFound(alert_id)
    return Response(rendering.parts["html"], mimetype="text/html", headers=EMAIL_PREVIEW_HEADERS)


def frame_doc(fragment: str, kind: str) -> str:
    """Return a rendering as a whole document for a sandboxed preview frame (``srcdoc``)."""
    css = url_for("static", filename="preview.css")
    return (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{css}"></head><body class="{kind}">{fragment}</body></html>'
    )


def _people(alert: Alert) -> set[int]:
    ids = {alert.created_by, alert.updated_by, alert.approved_by, alert.cancelled_by}
    return {i for i in ids if i is not None}


def _refused(alert_id: int, error: errors.Refused, **forms):
    """Show the refusal on the warning page, with the API's status; nothing changed."""
    flash(_(error.message, **error.params), "error")
    return _page(workflow.visible(get_db(), acting(), alert_id), error.status, **forms)


@bp.route("/<int:alert_id>/submit", methods=["POST"])
@role_required(Role.OFFICER)
def submit(alert_id: int):
    """Send for approval."""
    return _act(alert_id, _("Sent for approval."), workflow.submit, config=current_app.config)


@bp.route("/<int:alert_id>/withdraw", methods=["POST"])
@role_required(Role.OFFICER)
def withdraw(alert_id: int):
    """Withdraw before approval."""
    return _act(alert_id, _("Withdrawn."), workflow.withdraw)


def _act(alert_id: int, done: str, action, **kwargs):
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(workflow.visible(get_db(), acting(), alert_id), 400)
    try:
        action(get_db(), acting(), alert_id, **kwargs)
    except errors.Refused as error:
        return _refused(alert_id, error)
    flash(done, "info")
    return redirect(url_for("warnings.show", alert_id=alert_id), 303)


@bp.route("/<int:alert_id>/approve", methods=["POST"])
@role_required(Role.APPROVER)
def approve(alert_id: int):
    """Approve the exact content shown (the confirmation box must be ticked)."""
    form = ReviewForm()
    if not form.validate_on_submit():
        return _page(workflow.visible(get_db(), acting(), alert_id), 400)
    if not form.confirm.data:
        form.confirm.errors = [_("Tick the box to confirm what you approve.")]
        return _page(workflow.visible(get_db(), acting(), alert_id), 422, review_form=form)
    try:
        alert = workflow.approve(
            get_db(),
            acting(),
            alert_id,
            seen_hash=form.content_hash.data,
            config=current_app.config,
        )
    except errors.Refused as error:
        return _refused(alert_id, error)
    message = _("Approved and published.") if alert.status == Status.PUBLISHED else None
    flash(message or _("Approved: it will be published at its publish time."), "info")
    return redirect(url_for("warnings.show", alert_id=alert_id), 303)


@bp.route("/<int:alert_id>/reject", methods=["POST"])
@role_required(Role.APPROVER)
def reject(alert_id: int):
    """Send back to the author with a reason."""
    form = ReviewForm()
    if not form.validate_on_submit():
        return _page(workflow.visible(get_db(), acting(), alert_id), 400)
    try:
        workflow.reject(
            get_db(),
            acting(),
            alert_id,
            reason=form.reason.data or "",
            seen_hash=form.content_hash.data or "",
        )
    except errors.Refused as error:
        show_refusal(error, form)
        return _refused(alert_id, error, review_form=form)
    flash(_("Sent back to the author."), "info")
    return redirect(url_for("warnings.show", alert_id=alert_id), 303)


@bp.route("/<int:alert_id>/cancel", methods=["POST"])
@role_required(Role.APPROVER)
def cancel(alert_id: int):
    """Cancel at once (no second approval): a false warning must stop fast."""
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(workflow.visible(get_db(), acting(), alert_id), 400)
    try:
        workflow.cancel(
            get_db(), acting(), alert_id, reason=form.reason.data or "", config=current_app.config
        )
    except errors.Refused as error:
        show_refusal(error, form)
        return _refused(alert_id, error, cancel_form=form)
    flash(_("Cancelled. Residents will be told it no longer applies."), "info")
    return redirect(url_for("warnings.show", alert_id=alert_id), 303)


@bp.route("/<int:alert_id>/update", methods=["POST"])
@role_required(Role.OFFICER)
def update(alert_id: int):
    """Start a new revision of a published warning, then edit it."""
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(workflow.visible(get_db(), acting(), alert_id), 400)
    try:
        new_id = workflow.start_update(get_db(), acting(), alert_id, config=current_app.config)
    except errors.Refused as error:
        return _refused(alert_id, error)
    flash(_("New revision started: change what is new, then send it for approval."), "info")
    return redirect(url_for("warnings.edit", alert_id=new_id), 303)


@bp.route("/images/<sha256>")
@signed_in
def image(sha256: str):
    """An image attached to a warning (staff only until the portal publishes it)."""
    found = image_store.get_image(get_db(), sha256) if len(sha256) == 64 else None
    if found is None:
        abort(404)
    mime, data = found
    response = Response(data, mimetype=mime)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/<int:alert_id>/progress.json")
@signed_in
def progress_json(alert_id: int):
    """Delivery counts, polled by the warning page while it is being delivered."""
    alert = workflow.visible(get_db(), acting(), alert_id)
    return jsonify(progress.progress(get_db(), alert))


@bp.route("/deliveries/<int:delivery_id>/replay", methods=["POST"])
@role_required(Role.APPROVER)
def replay(delivery_id: int):
    """Send a dead letter again, with the same idempotency key."""
    found = delivery_store.get_delivery(get_db(), delivery_id)
    if found is None:
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(workflow.visible(get_db(), acting(), found["warning_id"]), 400)
    try:
        progress.replay(get_db(), acting(), delivery_id)
    except errors.Refused as error:
        return _refused(found["warning_id"], error)
    flash(_("Queued again; the worker sends it on its next pass."), "info")
    return redirect(url_for("warnings.show", alert_id=found["warning_id"]) + "#delivery", 303)
