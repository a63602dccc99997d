"""Reference data (the map and the police units) and the demo accounts."""

from __future__ import annotations

import sqlite_utils

from alerts import audit
from alerts import regions
from alerts.db import write
from alerts.models import Role
from alerts.regions import MAP_VERSION_KEY
from alerts.regions.jurisdiction import unit_code
from alerts.regions.jurisdiction import unit_name
from alerts.security import passwords
from alerts.store import audit as audit_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.warnings import warning_templates

DEMO_PASSWORD = "demo-canhbao-2026"
DEMO_USERS = (
    ("bo.admin", "Quản trị Bộ Công an (demo)", "vn", (Role.ADMIN, Role.APPROVER)),
    ("bo.canbo", "Cán bộ Bộ Công an (demo)", "vn", (Role.OFFICER,)),
    ("bo.duyet", "Duyệt tin Bộ Công an (demo)", "vn", (Role.APPROVER,)),
    ("hanoi.duyet", "Duyệt tin Công an Hà Nội (demo)", "01", (Role.APPROVER,)),
    ("hanoi.duyet2", "Duyệt tin 2 Công an Hà Nội (demo)", "01", (Role.APPROVER,)),
    ("hanoi.canbo", "Cán bộ Công an Hà Nội (demo)", "01", (Role.OFFICER,)),
    ("hoankiem.canbo", "Cán bộ Công an phường Hoàn Kiếm (demo)", "00070", (Role.OFFICER,)),
    ("danang.duyet", "Duyệt tin Công an Đà Nẵng (demo)", "48", (Role.APPROVER,)),
    ("haichau.canbo", "Cán bộ Công an phường Hải Châu (demo)", "20242", (Role.OFFICER,)),
)


def load_reference_data(db: sqlite_utils.Database) -> bool:
    """Load the map and create one unit per region, if the map version changed.

    Returns whether the map was loaded. The built-in warning templates are brought in line
    with the shipped file on every run. Idempotent: a second run with the same package
    version does nothing.
    """
    warning_templates.load_builtin(db)
    version = regions.map_version()
    if region_store.get_meta(db, MAP_VERSION_KEY) == version:
        return False
    the_map = regions.load_map()
    with write(db):
        region_store.upsert_regions(db, the_map)
        unit_store.upsert_units(
            db,
            (
                (
                    unit_code(r.code),
                    unit_name(r),
                    r.level,
                    r.code,
                    unit_code(r.parent_code) if r.parent_code else None,
                )
                for r in the_map
            ),
        )
        region_store.set_meta(db, MAP_VERSION_KEY, version)
        audit_store.append(
            db, audit.make_entry(audit.SYSTEM, "map.load", "map", {"version": version})
        )
    return True


def seed_demo_users(db: sqlite_utils.Database) -> list[str]:
    """Create the demo accounts that do not exist yet; return their usernames."""
    created = []
    hashed = passwords.hash_password(DEMO_PASSWORD)
    with write(db):
        for username, full_name, region_code, roles in DEMO_USERS:
            if user_store.get_user_by_username(db, username):
                continue
            unit = unit_store.get_unit_by_code(db, unit_code(region_code))
            user_store.create_user(
                db,
                username=username,
                full_name=full_name,
                unit_id=unit.id,
                password_hash=hashed,
                roles=roles,
                is_demo=True,
            )
            created.append(username)
        if created:
            audit_store.append(
                db, audit.make_entry(audit.SYSTEM, "demo.seed", "users", {"users": created})
            )
    return created
