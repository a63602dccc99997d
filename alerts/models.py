"""Kernel records and enums: the map, units, staff and who is acting. Plain data, no SQL
and no Flask; a warning's own records live in ``alerts.warnings.models``."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum

from alerts.audit import Actor


class Level(StrEnum):
    """The levels of the 2025 map, and of the police units bound to them."""

    NATION = "nation"
    PROVINCE = "province"
    COMMUNE = "commune"


class Role(StrEnum):
    """What a user may do inside their unit's jurisdiction."""

    OFFICER = "officer"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True)
class Region:
    """A region of the map: the nation ("vn"), a province ("01") or a commune ("00070")."""

    code: str
    level: Level
    name: str
    division_type: str
    parent_code: str | None


@dataclass(frozen=True)
class Unit:
    """A police unit: the ministry, a provincial department or a commune unit."""

    id: int
    code: str
    name: str
    level: Level
    region_code: str
    parent_id: int | None


@dataclass(frozen=True)
class User:
    """A staff account; ``roles`` is a frozenset of Role.

    ``must_change_password``: someone else chose the current password (an admin at creation
    or reset), so the user must replace it before doing anything else.
    """

    id: int
    username: str
    full_name: str
    unit_id: int
    active: bool
    is_demo: bool
    totp_enabled: bool
    roles: frozenset[Role] = field(default_factory=frozenset)
    must_change_password: bool = False

    def has(self, role: Role) -> bool:
        """Return whether the user holds the role."""
        return role in self.roles


@dataclass(frozen=True)
class Acting:
    """A signed-in user acting now: the user, their unit, and the audit identity to record."""

    user: User
    unit: Unit
    actor: Actor
