"""Reach pages: a unit's (and the ministry's) picture over the last weeks with its CSV,
a published warning's timeline, and what the approval screen shows of who a warning
will reach (``templates/reach/_warning.html``, given its data by the context function).

Portal views and /verify checks are counted here, after the response, by endpoint: the
portal and verify views stay as they are. A page a cache answers is not counted; the
counts are a lower bound once the portal is served through a cache.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask import template_rendered
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from alerts.clock import from_text
from alerts.db import get_db
from alerts.i18n import show_calendar_day
from alerts.i18n import show_moment
from alerts.reach import audience as reach_audience
from alerts.reach import charts
from alerts.reach import timeline as reach_timeline
from alerts.reach import unit_report
from alerts.reach.counters import Counters
from alerts.regions.jurisdiction import unit_covers
from alerts.residents.verify_parse import lookup_keys
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.warnings import workflow
from alerts.warnings.models import Alert
from alerts.web import storage
from alerts.web.admin import bp
from alerts.web.context import acting
from alerts.web.context import actor
from alerts.web.context import my_unit
from alerts.web.guards import signed_in
from alerts.web.warning_forms import CHANNEL_LABELS
from alerts.web.warning_forms import DELIVERY_LABELS
from alerts.web.warning_forms import WARNING_TYPE_LABELS

# Portal endpoints whose successful answer is a view of a warning, by counter kind.
COUNTED = {"portal.warning": "page", "portal.warning_cap": "cap"}
# The timeline's events: the engine's "sent", then what the providers' receipts reported.
EVENT_LABELS = {e: DELIVERY_LABELS[e] for e in ("sent", "delivered", "read")} | {
    "failed": DELIVERY_LABELS["reported_failed"]
}
VIEW_LABELS = {
    "page": _l("warning page views"),
    "cap": _l("CAP document fetches"),
    "verify": _l("checks of its code"),
}


def counters(app: Flask | None = None) -> Counters:
    """The app's pending counts (one per app, so tests' apps never share them)."""
    app = app or current_app
    return app.extensions.setdefault("reach_counters", Counters())


def _count_view(response: Response) -> Response:
    """Count a portal page or CAP document served (200, or 304 to a browser that had it),
    and write the pending counts when they are due."""
    kind = COUNTED.get(request.endpoint or "")
    if kind and response.status_code in (200, 304):
        counters().view(request.view_args["code"], kind)
    if counters().due():
        try:
            counters().flush(get_db())
        except storage.FAULTS as error:  # a full or locked disk: these counts are lost
            current_app.logger.warning("reach counts not written: %s", error)
    return response


def _count_verify(app: Flask, template, context: dict, **_extra) -> None:
    """Count a /verify answer naming a real warning, and a lookup that found warnings."""
    if template.name != "verify/check.html":
        return
    result, found = context.get("result"), context.get("found")
    if result is not None and result.warning is not None:
        counters(app).view(result.warning.code, "verify")
    if found is not None and found.hits:  # only what a warning lists: never a private value
        listed = {hit.kind for hit in found.hits}
        for kind, key, _shown in lookup_keys(found.query):
            if kind in listed:
                counters(app).lookup(kind, key)


@bp.record_once
def _hook(state) -> None:
    """Count on every app the admin pages are registered on, without touching the views."""
    state.app.after_request(_count_view)
    template_rendered.connect(_count_verify, state.app)


@bp.app_context_processor
def _reach_of() -> dict:
    """The reach card's data function and labels, for the warning page's include."""
    return {"reach_of": _reach_of_alert, "EVENT_LABELS": EVENT_LABELS, "VIEW_LABELS": VIEW_LABELS}


def _reach_of_alert(alert: Alert) -> dict:
    """What the warning page's reach card shows: who it will reach, or how far it went."""
    if alert.published_at is None:
        return {"audience": reach_audience.audience(get_db(), alert)}
    return {"totals": reach_timeline.totals(get_db(), alert)}  # the minutes: their own page


def _utc(minute: str) -> datetime:
    """A bucket's start ("YYYY-MM-DDTHH:MM", UTC) as a moment."""
    return from_text(minute + ":00+00:00")


def _timeline_charts(found: reach_timeline.Timeline) -> dict:
    """The timeline's two charts: deliveries by event (all channels), views by kind."""
    times = [format_datetime(_utc(start), "HH:mm") for start in found.starts]
    events = {str(EVENT_LABELS[e]): v for e, v in found.by_event.items()}
    views = {str(VIEW_LABELS[k]): found.views.get(k, []) for k in reach_timeline.VIEWS}
    return {
        "deliveries": charts.stacked_bars(
            "tl-deliveries", _("Deliveries per interval"), times, events
        ),
        "views": charts.stacked_bars("tl-views", _("Views and checks per interval"), times, views),
    }


def _unit_charts(found: unit_report.UnitReport, names: dict[str, str]) -> dict:
    weeks = [show_calendar_day(w, short=True) for w in found.weeks]  # the table: the year
    issued = {str(WARNING_TYPE_LABELS.get(t, t)): v for t, v in found.issued.items()}
    audience = {str(CHANNEL_LABELS.get(c, c)): v for c, v in found.subscribers.items()}
    provinces = found.provinces
    cells = [(code, names[code], provinces.get(code, 0)) for code in sorted(names)]
    return {
        "issued": charts.stacked_bars(
            "issued", _("Warnings issued per week, by type"), weeks, issued
        ),
        "audience": charts.stacked_bars(
            "audience", _("Subscribers at the end of each week, by channel"), weeks, audience
        ),
        "provinces": charts.province_grid("provinces", _("Subscribers by province"), cells),
    }


def _unit(code: str | None):
    """The unit asked for, if the signed-in user's unit oversees it; 404 otherwise."""
    mine = my_unit()
    if code is None:
        return mine
    found = unit_store.get_unit_by_code(get_db(), code)
    if found is None or not unit_covers(mine, found):
        abort(404)
    return found


@bp.route("/reach")
@bp.route("/reach/<code>")
@signed_in
def reach(code: str | None = None):
    """A unit's reach over the last weeks."""
    db = get_db()
    unit = _unit(code)
    counters().flush(db)
    found = unit_report.report(db, unit)
    names = {r.code: r.name for r in region_store.child_regions(db, "vn")}
    return render_template(
        "reach/unit.html",
        report=found,
        names=names,
        charts=_unit_charts(found, names),
        week_labels=[show_calendar_day(w) for w in found.weeks],
    )


@bp.route("/reach/<code>/reach.csv")
@signed_in
def reach_csv(code: str):
    """The unit's report as CSV (audited)."""
    db = get_db()
    unit = _unit(code)
    found = unit_report.report(db, unit)
    unit_report.record_export(db, actor(), unit)
    return Response(
        unit_report.csv_text(found),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="reach-{unit.code}.csv"'},
    )


def _timeline_of(alert_id: int) -> tuple[Alert, reach_timeline.Timeline]:
    """A revision the user may see (404 otherwise) and its timeline, counts flushed first."""
    alert = workflow.visible(get_db(), acting(), alert_id)
    counters().flush(get_db())
    return alert, reach_timeline.timeline(get_db(), alert)


@bp.route("/reach/warnings/<int:alert_id>")
@signed_in
def warning_reach(alert_id: int):
    """A published warning's timeline: deliveries, views and checks per minute."""
    alert, found = _timeline_of(alert_id)
    return render_template(
        "reach/warning.html",
        alert=alert,
        timeline=found,
        charts=_timeline_charts(found),
        times=[show_moment(_utc(start)) for start in found.starts],
    )


@bp.route("/reach/warnings/<int:alert_id>/timeline.json")
@signed_in
def warning_reach_json(alert_id: int):
    """The same timeline as JSON, for polling while it is delivered."""
    _alert, found = _timeline_of(alert_id)
    return jsonify(dataclasses.asdict(found))
