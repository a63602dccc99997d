"""Warning templates: ready-made text an officer starts a warning from, then edits.

Built-in templates ship with the code (``alerts/data/warning_templates.json``); ``load_builtin``
brings the database in line with that file, and nobody edits them in the app. Unit admins add
templates for their unit and the units below it; a template is offered to its own unit and to
every unit beneath it, never sideways. Fields carry the warning form's names and are checked
against the vocabularies and limits of ``alerts.warnings.content``. Placeholders an
officer must fill in are written in square brackets: "[số điện thoại]".

Every change is written in one transaction with its audit entry. Messages are English msgids;
the web layer translates them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import sqlite_utils

from alerts import audit
from alerts.db import write
from alerts.errors import Forbidden
from alerts.errors import Invalid
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.models import Acting
from alerts.models import Level
from alerts.models import Role
from alerts.models import Unit
from alerts.regions.jurisdiction import unit_covers
from alerts.store import audit as audit_store
from alerts.store import units as unit_store
from alerts.store import warning_templates as store
from alerts.text import clean_line
from alerts.text import clean_text
from alerts.warnings.content import CATEGORIES
from alerts.warnings.content import CERTAINTIES
from alerts.warnings.content import LIMITS
from alerts.warnings.content import SEVERITIES
from alerts.warnings.content import URGENCIES
from alerts.warnings.content import WARNING_TYPES

BUILTIN_FILE = "data/warning_templates.json"
CHOICES = {
    "warning_type": WARNING_TYPES,
    "category": CATEGORIES,
    "severity": SEVERITIES,
    "urgency": URGENCIES,
    "certainty": CERTAINTIES,
}
TEXTS = (
    "headline",
    "description",
    "instruction",
    "headline_en",
    "description_en",
    "instruction_en",
)
ONE_LINE = ("headline", "headline_en")
REQUIRED = ("headline", "description", "instruction")
FIELDS = (*CHOICES, *TEXTS)
NAME_MAX = 100
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,60}\]")


@dataclass(frozen=True)
class Template:
    """A warning template; ``unit_id`` None marks a built-in (offered to every unit)."""

    id: int
    slug: str | None
    unit_id: int | None
    name: str
    fields: dict
    active: bool

    @property
    def builtin(self) -> bool:
        """Return whether the template ships with the code (read-only)."""
        return self.unit_id is None


def _template(row: dict) -> Template:
    return Template(**row)


def placeholders(fields: Mapping[str, object]) -> list[str]:
    """Return the "[...]" placeholders still present in the text fields, once each, in order."""
    found = (
        _PLACEHOLDER.findall(v) for k, v in fields.items() if k in TEXTS and isinstance(v, str)
    )
    return list(dict.fromkeys(p for matches in found for p in matches))


def _text(name: str, value: object, problems: list[Refused]) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.append(Refused("Must be text.", name))
        return ""
    value = clean_line(value) if name in ONE_LINE else clean_text(value)
    limit = LIMITS[name.removesuffix("_en")]
    if name in REQUIRED and not value:
        problems.append(Refused("This field is required.", name))
    elif len(value) > limit:
        problems.append(
            Refused(
                "At most %(max)s characters (now %(count)s).", name, max=limit, count=len(value)
            )
        )
    return value


def check_fields(raw: Mapping[str, object]) -> dict[str, str]:
    """Return the fields cleaned (NFC, tidy whitespace, every key present); raise Invalid."""
    problems = [
        Refused("Unknown field: %(name)s", None, name=str(name)[:40])
        for name in sorted(set(raw) - set(FIELDS), key=str)
    ]
    fields: dict[str, str] = {}
    for name, allowed in CHOICES.items():
        fields[name] = raw.get(name) or ""
        if fields[name] not in allowed:
            problems.append(
                Refused("Choose one of: %(allowed)s.", name, allowed=", ".join(allowed))
            )
    for name in TEXTS:
        fields[name] = _text(name, raw.get(name), problems)
    if fields["headline_en"] and not (fields["description_en"] and fields["instruction_en"]):
        problems.append(
            Refused("English text needs a description and an instruction too.", "description_en")
        )
    if problems:
        raise Invalid(problems)
    return fields


def builtin_definitions() -> list[tuple[str, str, dict[str, str]]]:
    """Return the shipped built-ins as (slug, name, checked fields); ValueError if one is bad."""
    source = resources.files("alerts").joinpath(BUILTIN_FILE).read_text(encoding="utf-8")
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for item in json.loads(source):
        slug = item.get("slug", "")
        if not _SLUG.fullmatch(slug) or slug in found:
            raise ValueError(f"{BUILTIN_FILE}: bad or repeated slug {slug!r}")
        try:
            fields = check_fields(item["fields"])
        except Invalid as error:
            reasons = "; ".join(f"{p.field}: {p}" for p in error.problems)
            raise ValueError(f"{BUILTIN_FILE}: {slug}: {reasons}") from None
        name = clean_line(item["name"])
        if not 1 <= len(name) <= NAME_MAX:
            raise ValueError(f"{BUILTIN_FILE}: {slug}: bad name")
        found[slug] = (slug, name, fields)
    return list(found.values())


def load_builtin(db: sqlite_utils.Database) -> list[str]:
    """Bring the built-ins in line with the shipped file; return the slugs that changed.

    New ones are inserted, changed ones updated (and re-activated), and those no longer
    shipped are deactivated rather than deleted. Idempotent: an unchanged file writes nothing.
    """
    shipped = builtin_definitions()
    changed: list[str] = []
    with write(db):
        stored = {row["slug"]: row for row in store.builtin_templates(db)}
        for slug, name, fields in shipped:
            row = stored.pop(slug, None)
            if row is None:
                store.insert_template(
                    db, slug=slug, unit_id=None, name=name, fields=fields, created_by=None
                )
            elif (row["name"], row["fields"], row["active"]) != (name, fields, True):
                store.update_template(db, row["id"], name=name, fields=fields, active=True)
            else:
                continue
            changed.append(slug)
        for row in stored.values():
            if row["active"]:
                store.update_template(db, row["id"], active=False)
                changed.append(row["slug"])
        if changed:
            entry = audit.make_entry(
                audit.SYSTEM, "template.builtin_load", "templates", {"changed": changed}
            )
            audit_store.append(db, entry)
    return changed


def builtins(db: sqlite_utils.Database) -> list[Template]:
    """Return the active built-in templates, in the shipped order."""
    return [_template(r) for r in store.builtin_templates(db, active_only=True)]


def _units_above(db: sqlite_utils.Database, unit: Unit) -> list[Unit]:
    """Return the unit and the units above it that cover it (commune, province, ministry)."""
    chain = [unit]
    while chain[-1].parent_id is not None and len(chain) < 10:
        parent = unit_store.get_unit(db, chain[-1].parent_id)
        if parent is None:
            break
        chain.append(parent)
    return [u for u in chain if unit_covers(u, unit)]


def available(db: sqlite_utils.Database, acting: Acting) -> list[Template]:
    """Return the templates the user may start from, active only."""
    return offered_to(db, acting.unit)


def offered_to(db: sqlite_utils.Database, unit: Unit) -> list[Template]:
    """Return the active templates offered to a unit.

    Built-ins come first (in the shipped order), then the templates of the unit and of the
    units above it, by name.
    """
    ids = [u.id for u in _units_above(db, unit)]
    rows = store.builtin_templates(db, active_only=True)
    rows += store.unit_templates(db, ids, active_only=True)
    return [_template(r) for r in rows]


def get_available(db: sqlite_utils.Database, acting: Acting, template_id: int) -> Template:
    """Return a template the user may start from; NotFound if inactive or not offered to them."""
    row = store.get_template(db, template_id)
    template = _template(row) if row else None
    if template is None or not template.active:
        raise NotFound(template_id)
    if not template.builtin:
        owner = unit_store.get_unit(db, template.unit_id)
        if owner is None or not unit_covers(owner, acting.unit):
            raise NotFound(template_id)
    return template


def _require_admin(acting: Acting) -> None:
    if not acting.user.has(Role.ADMIN):
        raise Forbidden("Only unit admins manage warning templates.")


def managed(db: sqlite_utils.Database, acting: Acting) -> list[Template]:
    """Return the templates of the admin's unit and the units below it, active or not."""
    _require_admin(acting)
    unit = acting.unit
    ids = None
    if unit.level != Level.NATION:
        ids = [unit.id, *(u.id for u in unit_store.child_units(db, unit.id, limit=10_000))]
    return [_template(r) for r in store.unit_templates(db, ids)]


def managed_template(
    db: sqlite_utils.Database, acting: Acting, template_id: int
) -> tuple[Template, Unit]:
    """Return a unit template the admin manages, with its unit; NotFound otherwise."""
    _require_admin(acting)
    row = store.get_template(db, template_id)
    unit = unit_store.get_unit(db, row["unit_id"]) if row and row["unit_id"] else None
    if unit is None or not unit_covers(acting.unit, unit):
        raise NotFound(template_id)
    return _template(row), unit


def _target_unit(db: sqlite_utils.Database, acting: Acting, unit_code: str) -> Unit:
    unit = unit_store.get_unit_by_code(db, unit_code.strip().lower())
    if unit is None or not unit_covers(acting.unit, unit):
        raise Refused("Choose a unit inside your jurisdiction.", "unit")
    return unit


def _name(value: str) -> str:
    name = clean_line(value)
    if not 1 <= len(name) <= NAME_MAX:
        raise Refused("Enter a name of 1 to 100 characters.", "name")
    return name


def _collect(problems: list[Refused], check: Callable, *args: object):
    """Run one check; on refusal, note its problems and return None."""
    try:
        return check(*args)
    except Invalid as error:
        problems.extend(error.problems)
    except Refused as error:
        problems.append(error)
    return None


def _checked(
    db: sqlite_utils.Database, acting: Acting, unit_code: str, name: str, fields: Mapping
) -> tuple[Unit, str, dict[str, str]]:
    """Check the unit, the name and the fields together, so every problem shows at once."""
    problems: list[Refused] = []
    unit = _collect(problems, _target_unit, db, acting, unit_code)
    clean_name = _collect(problems, _name, name)
    clean_fields = _collect(problems, check_fields, fields)
    if problems:
        raise Invalid(problems)
    return unit, clean_name, clean_fields


def _log(db: sqlite_utils.Database, acting: Acting, action: str, template_id: int, **detail):
    audit_store.append(
        db, audit.make_entry(acting.actor, action, f"template:{template_id}", detail)
    )


def create_template(
    db: sqlite_utils.Database,
    acting: Acting,
    *,
    unit_code: str,
    name: str,
    fields: Mapping[str, object],
) -> int:
    """Create a template for a unit the admin manages; return the new id."""
    _require_admin(acting)
    unit, name, fields = _checked(db, acting, unit_code, name, fields)
    with write(db):
        template_id = store.insert_template(
            db, slug=None, unit_id=unit.id, name=name, fields=fields, created_by=acting.user.id
        )
        _log(db, acting, "template.create", template_id, unit=unit.code, name=name)
    return template_id


def update_template(
    db: sqlite_utils.Database,
    acting: Acting,
    template_id: int,
    *,
    unit_code: str,
    name: str,
    fields: Mapping[str, object],
) -> None:
    """Change a managed template's unit, name or fields (nothing is written if unchanged)."""
    template, unit = managed_template(db, acting, template_id)
    new_unit, name, fields = _checked(db, acting, unit_code, name, fields)
    changes: dict[str, object] = {}
    if name != template.name:
        changes["name"] = name
    if new_unit.id != unit.id:
        changes["unit"] = f"{unit.code} -> {new_unit.code}"
    edited = [k for k in FIELDS if fields[k] != template.fields.get(k, "")]
    if edited:
        changes["fields"] = edited
    if not changes:
        return
    with write(db):
        store.update_template(db, template.id, name=name, unit_id=new_unit.id, fields=fields)
        _log(db, acting, "template.update", template.id, **changes)


def set_active(db: sqlite_utils.Database, acting: Acting, template_id: int, active: bool) -> None:
    """Offer a managed template again, or stop offering it (it is kept, not deleted)."""
    template, unit = managed_template(db, acting, template_id)
    if template.active == active:
        return
    with write(db):
        store.update_template(db, template.id, active=active)
        action = "template.activate" if active else "template.deactivate"
        _log(db, acting, action, template.id, unit=unit.code, name=template.name)
