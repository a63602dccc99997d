"""Everyone lands on their work: drafts, returns with the reason, recent warnings, and for
approvers what waits for them, oldest first, with its age; the counts are in every header."""

from __future__ import annotations

import re
from datetime import timedelta

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.warnings import workflow
from tests.builders import approve
from tests.builders import create
from tests.builders import published
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import sign_in


def _count(html: str, testid: str) -> int | None:
    found = re.search(rf'data-testid="{testid}">[^<]*(?:<span class="count"[^>]*>(\d+))?', html)
    assert found, f"no {testid} in the header"
    return int(found.group(1)) if found.group(1) else None


def _reject(db, alert_id: int, reason: str) -> None:
    alert = workflow.visible(db, acting_as(db, "hanoi.duyet"), alert_id)
    workflow.reject(
        db, acting_as(db, "hanoi.duyet"), alert_id, reason=reason, seen_hash=alert.content_hash
    )


def test_an_officer_lands_on_drafts_returns_with_the_reason_and_recent(client, db):
    create(db, headline="Bản nháp về cuộc gọi giả danh ngân hàng")
    returned = submitted(db, headline="Cảnh báo bị trả lại về tin nhắn giả")
    _reject(db, returned, "Thiếu số điện thoại của đối tượng")
    published(db, headline="Cảnh báo đã phát hành về lừa đảo OTP")
    create(db, "hanoi.canbo", regions=["01"], headline="Bản nháp của người khác")
    response = sign_in(client, "hoankiem.canbo")
    assert response.location == "/admin/"
    html = client.get("/admin/").get_data(as_text=True)
    drafts, back, recent = (html.split(f'id="{s}"')[1] for s in ("drafts", "returned", "recent"))
    assert "Bản nháp về cuộc gọi giả danh ngân hàng" in drafts.split("</section>")[0]
    assert "Thiếu số điện thoại của đối tượng" in back.split("</section>")[0]
    assert "Cảnh báo đã phát hành về lừa đảo OTP" in recent.split("</section>")[0]
    assert "Bản nháp của người khác" not in html
    assert _count(html, "work-link") == 2  # one draft, one returned


def test_an_approver_sees_what_waits_oldest_first_with_its_age(client, db):
    older = submitted(db, headline="Cảnh báo gửi trước")
    submitted(db, headline="Cảnh báo gửi sau")
    db.execute(
        "UPDATE warnings SET submitted_at = ? WHERE id = ?",
        [to_text(utcnow() - timedelta(hours=3)), older],
    )
    submitted(db, "haichau.canbo", regions=["20242"], headline="Cảnh báo ở Đà Nẵng")
    own = submitted(db, "hanoi.canbo", regions=["01"], headline="Cảnh báo tự viết")
    db.execute(
        "INSERT INTO warning_editors (warning_id, user_id) SELECT ?, id FROM users"
        " WHERE username = 'hanoi.duyet'",
        [own],
    )
    sign_in(client, "hanoi.duyet")
    html = client.get("/admin/").get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="waiting">(.*?)</tr>', html, re.S)
    assert [("gửi trước" in r, "gửi sau" in r) for r in rows] == [(True, False), (False, True)]
    assert "3 tiếng" in rows[0]  # Babel's Vietnamese for "3 hours"
    assert "Cảnh báo ở Đà Nẵng" not in html and "Cảnh báo tự viết" not in html
    assert _count(html, "queue-link") == 2
    # The count is on every page, not only on the work page.
    assert _count(client.get("/admin/warnings/").get_data(as_text=True), "queue-link") == 2


def test_the_queue_count_drops_once_approved(client, db):
    alert_id = submitted(db)
    sign_in(client, "danang.duyet")
    assert _count(client.get("/admin/").get_data(as_text=True), "queue-link") is None
    client2 = client.application.test_client()
    sign_in(client2, "hanoi.duyet")
    assert _count(client2.get("/admin/").get_data(as_text=True), "queue-link") == 1
    approve(db, "hanoi.duyet", alert_id)
    assert _count(client2.get("/admin/").get_data(as_text=True), "queue-link") is None
