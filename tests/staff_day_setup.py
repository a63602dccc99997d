"""A staff member's day as the staff pages show it, for the accessibility and language
checks: Hà Nội's residents and accounts on the fakes (tests/reach_setup.py), a published
warning whose SMS went out and whose Telegram deliveries died, one waiting for approval,
one returned with its reason, a draft, and the officer's work-notice address waiting for
its code."""

from __future__ import annotations

from alerts.clock import utcnow
from alerts.staff import notify_channel
from alerts.warnings import workflow
from tests.builders import approve
from tests.builders import create
from tests.builders import submitted
from tests.conftest import acting_as
from tests.delivery_setup import dispatch_once
from tests.reach_setup import province_warning
from tests.reach_setup import seed_hanoi

PUBLISHED = "Cảnh báo lừa đảo mã OTP qua tin nhắn giả ngân hàng"
RETURN_REASON = "Thiếu số điện thoại của đối tượng"


def seed_staff_day(db, fakes, app_config) -> dict[str, int]:
    """Seed the day (the code's hash keyed by the served app's secret); return the ids of
    the published, waiting, returned and draft warnings."""
    seed_hanoi(db, fakes)
    published = approve(db, "hanoi.duyet", province_warning(db, headline=PUBLISHED)).id
    fakes.state.fail("telegram", count=4, kind="error", status=400, description="Bad Request")
    dispatch_once(db)
    returned = submitted(db, headline="Cảnh báo cuộc gọi giả danh điện lực")
    approver = acting_as(db, "hanoi.duyet")
    seen = workflow.visible(db, approver, returned).content_hash
    workflow.reject(db, approver, returned, reason=RETURN_REASON, seen_hash=seen)
    notify_channel.start(
        db,
        app_config,
        acting_as(db, "hoankiem.canbo"),
        channel="email",
        address="hoankiem.canbo@bocongan.gov.vn",
        masked="h***@bocongan.gov.vn",
        now=utcnow(),
    )
    return {
        "published": published,
        "waiting": province_warning(db, headline="Cảnh báo website giả cổng dịch vụ công"),
        "returned": returned,
        "draft": create(db, headline="Bản nháp về ứng dụng giả mạo VNeID"),
    }


def staff_pages(ids: dict[str, int]) -> dict[str, list[str]]:
    """The staff pages of the day, by who signs in to see them: the officer's work landing,
    new-warning form and account, and the ministry admin's landing, search results, the
    published warning's page (reach card, timeline), the approval screen, the reach pages
    and dead letters."""
    return {
        "hoankiem.canbo": ["/admin/", "/admin/warnings/new", "/account/"],
        "bo.admin": [
            "/admin/",
            "/admin/warnings/?q=lua dao ma otp&status=published&unit=ca-01",
            f"/admin/warnings/{ids['published']}",
            f"/admin/warnings/{ids['waiting']}",
            "/admin/reach",
            "/admin/reach/ca-01",
            f"/admin/reach/warnings/{ids['published']}",
            "/admin/dead-letters",
            "/account/",
        ],
    }
