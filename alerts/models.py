"""Domain records and enums: plain data, no SQL and no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import TYPE_CHECKING

from alerts.audit import Actor

if TYPE_CHECKING:
    from alerts.content import Content


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


class Status(StrEnum):
    """Where a warning revision stands in its lifecycle."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Alert:
    """One revision of a warning: one CAP alert message, with its workflow record."""

    id: int
    series_id: int
    revision: int
    msg_type: str
    references_id: int | None
    unit_id: int
    status: Status
    content: Content
    content_hash: str
    created_by: int
    created_at: str
    updated_by: int
    updated_at: str
    submitted_at: str | None
    approved_by: int | None
    approved_at: str | None
    approved_hash: str | None
    reviewed_hash: str | None
    reject_reason: str | None
    published_at: str | None
    code: str | None
    cancelled_by: int | None
    cancelled_at: str | None
    cancel_reason: str | None
    superseded_by: int | None
    # Why the stored content no longer matches what was approved (it is never sent).
    integrity_failure: str | None = None
