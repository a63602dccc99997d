"""Warning template views for unit admins (routes on the admin blueprint).

The rules (admin role, jurisdiction, field checks, audit) live in
``alerts.warnings.warning_templates``; these views only parse forms, call it and show the
outcome. Built-ins are read-only: an admin copies one into a new template of their own
(``new?from=<id>``)."""

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
from alerts.store import units as unit_store
from alerts.warnings import warning_templates
from alerts.web.admin import bp
from alerts.web.admin.template_forms import TemplateForm
from alerts.web.context import acting
from alerts.web.context import my_unit
from alerts.web.forms import ActiveForm
from alerts.web.forms import show_refusal
from alerts.web.guards import role_required
from alerts.web.warning_forms import WARNING_TYPE_LABELS


def _fields(form: TemplateForm) -> dict[str, str]:
    return {name: form[name].data for name in warning_templates.FIELDS}


def _form_page(form: TemplateForm, template=None, unit=None):
    return render_template(
        "admin/warning_template_form.html",
        form=form,
        template=template,
        unit=unit,
        active_form=ActiveForm(),
    ), 400 if form.errors else 200


@bp.route("/templates")
@role_required(Role.ADMIN)
def templates():
    """The admin's units' templates (editable) and the built-ins (read-only, to copy)."""
    db = get_db()
    managed = warning_templates.managed(db, acting())
    units = {t.unit_id: unit_store.get_unit(db, t.unit_id) for t in managed}
    return render_template(
        "admin/warning_templates.html",
        managed=managed,
        builtins=warning_templates.builtins(db),
        units=units,
        type_labels=WARNING_TYPE_LABELS,
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_template():
    """Create a template for the admin's unit or a unit below it, blank or copied from one."""
    data = None
    source_id = request.args.get("from", type=int)
    if request.method == "GET" and source_id is not None:
        source = warning_templates.get_available(get_db(), acting(), source_id)
        data = {"name": source.name, **source.fields}
    form = TemplateForm(data={"unit": my_unit().code, **(data or {})})
    if form.validate_on_submit():
        try:
            template_id = warning_templates.create_template(
                get_db(),
                acting(),
                unit_code=form.unit.data,
                name=form.name.data,
                fields=_fields(form),
            )
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("Template saved."), "info")
            return redirect(url_for("admin.edit_template", template_id=template_id))
    return _form_page(form)


@bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit_template(template_id: int):
    """Change a template of the admin's unit or a unit below it (404 outside them)."""
    template, unit = warning_templates.managed_template(get_db(), acting(), template_id)
    data = {"name": template.name, "unit": unit.code, **template.fields}
    form = TemplateForm(data=data if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            warning_templates.update_template(
                get_db(),
                acting(),
                template_id,
                unit_code=form.unit.data,
                name=form.name.data,
                fields=_fields(form),
            )
        except errors.Refused as error:
            show_refusal(error, form)
        else:
            flash(_("Template saved."), "info")
            return redirect(url_for("admin.templates"))
    return _form_page(form, template, unit)


@bp.route("/templates/<int:template_id>/active", methods=["POST"])
@role_required(Role.ADMIN)
def set_template_active(template_id: int):
    """Offer a template to officers again, or stop offering it."""
    form = ActiveForm()
    if form.validate_on_submit() and form.active.data in ("0", "1"):
        active = form.active.data == "1"
        warning_templates.set_active(get_db(), acting(), template_id, active)
        flash(
            _("Template offered to officers.")
            if active
            else _("Template no longer offered to officers."),
            "info",
        )
    return redirect(url_for("admin.edit_template", template_id=template_id))
