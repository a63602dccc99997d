"""A warning's records: its workflow status and one revision (one CAP message).

Kept beside ``content.py`` rather than in the kernel's ``alerts.models`` so the kernel
imports no domain type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from alerts.warnings.content import Content


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
