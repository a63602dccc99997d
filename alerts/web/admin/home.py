"""The signed-in home: the user's work; their unit and region, units below it, the audit log.

Objects outside the user's jurisdiction answer 404, so their existence is not confirmed.
"""

from __future__ import annotations

from flask import abort
from flask import jsonify
from flask import render_template
from flask import request
from flask_babel import format_timedelta
from flask_babel import gettext as _

from alerts.clock import utcnow
from alerts.db import get_db
from alerts.models import Level
from alerts.models import Region
from alerts.models import Role
from alerts.models import Unit
from alerts.regions import MAP_VERSION_KEY
from alerts.regions.jurisdiction import unit_covers
from alerts.regions.jurisdiction import unit_covers_region
from alerts.store import audit as audit_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.warnings import work
from alerts.web.admin import bp
from alerts.web.context import acting
from alerts.web.context import my_unit
from alerts.web.forms import SearchForm
from alerts.web.guards import role_required
from alerts.web.guards import signed_in

PAGE_SIZE = 50


def _unit_view(unit: Unit) -> dict:
    """Return what a unit page shows: region, parent, a page of the units below."""
    db = get_db()
    form = SearchForm(request.args)
    query = form.q.data or "" if form.validate() else ""
    page = max(1, request.args.get("page", 1, type=int))
    total = unit_store.count_child_units(db, unit.id, query=query)
    return {
        "unit": unit,
        "region": region_store.get_region(db, unit.region_code),
        "parent": unit_store.get_unit(db, unit.parent_id) if unit.parent_id else None,
        "children": unit_store.child_units(
            db, unit.id, query=query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        ),
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "form": form,
        "map_version": region_store.get_meta(db, MAP_VERSION_KEY),
    }


@bp.route("/")
@signed_in
def dashboard():
    """Where everyone lands: their drafts, what came back, their recent warnings, and for
    approvers what waits for them, oldest first, with how long it has waited."""
    db, me = get_db(), acting()
    found = work.work_of(db, me, utcnow())
    alerts = [*found.drafts, *found.returned, *found.recent, *(w.alert for w in found.waiting)]
    units = {uid: unit_store.get_unit(db, uid) for uid in {a.unit_id for a in alerts}}
    ages = {w.alert.id: format_timedelta(w.waited, granularity="minute") for w in found.waiting}
    return render_template("warnings/work.html", work=found, units=units, ages=ages)


@bp.route("/unit")
@signed_in
def my_unit_page():
    """The user's own unit, its region and parent, and the units below it."""
    return render_template("admin/unit.html", home=True, **_unit_view(my_unit()))


@bp.route("/units/<code>")
@signed_in
def unit(code: str):
    """A unit inside the user's jurisdiction (404 outside it)."""
    target = unit_store.get_unit_by_code(get_db(), code.lower())
    if target is None or not unit_covers(my_unit(), target):
        abort(404)
    return render_template("admin/unit.html", home=False, **_unit_view(target))


@bp.route("/regions")
@signed_in
def regions():
    """Search regions by name without diacritics, or list the regions below ``parent``
    (JSON for the region picker); only regions inside the user's jurisdiction."""
    form = SearchForm(request.args)
    if not form.validate():
        return jsonify(error=_("The search text is too long.")), 400
    db, mine = get_db(), my_unit()
    parent = request.args.get("parent", "")[:10]
    if parent:
        found = region_store.child_regions(db, parent)
    else:
        within = mine.region_code if mine.level == Level.PROVINCE else None
        found = region_store.search_regions(db, form.q.data or "", within=within, limit=20)
    counts = region_store.commune_counts(db)
    return jsonify(results=[region_json(r, counts) for r in found if unit_covers_region(mine, r)])


def region_json(region: Region, counts: dict[str, int]) -> dict:
    """Return a region for the picker, with how many communes choosing it covers."""
    communes = {Level.NATION: sum(counts.values()), Level.PROVINCE: counts.get(region.code, 0)}
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level.value,
        "parent": region.parent_code,
        "communes": communes.get(region.level, 1),
    }


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit_log():
    """The newest audit entries of the admin's unit and the units below it."""
    units = unit_store.units_in_scope(get_db(), my_unit())
    codes = None if units is None else [u.code for u in units]
    entries = audit_store.recent(get_db(), units=codes, limit=100)
    return render_template("admin/audit.html", entries=entries)
