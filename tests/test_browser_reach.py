"""Reach in a real browser (issue 18): the approver sees who the warning will reach before
approving, approves, and after the worker's pass and a resident's visit the warning's reach
page draws its charts as named images with the numbers in tables beside them, under the
admin's strict CSP."""

from __future__ import annotations

import random

import pytest

from alerts.delivery import worker
from alerts.delivery.engine import Dispatcher
from tests.browser_fixtures import sign_in_browser
from tests.builders import CONFIG
from tests.conftest import make_app
from tests.reach_setup import province_warning
from tests.reach_setup import seed_hanoi

pytestmark = pytest.mark.browser


@pytest.fixture
def app(db_path):
    return make_app(db_path, **{k: CONFIG[k] for k in ("SIGNING_KEY", "PUBLIC_URL", "DATA_KEY")})


def test_the_approver_sees_the_reach_then_how_far_it_went(page, live_server, db, fakes):
    seed_hanoi(db, fakes)
    alert_id = province_warning(db)
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in_browser(page, live_server, "hanoi.duyet")
    page.goto(f"{live_server}/admin/warnings/{alert_id}")
    card = page.locator("#reach")
    assert "9 tin nhắn tới người dân" in card.inner_text()
    assert card.locator('tr[data-channel="sms"] td').inner_text() == "6"
    page.check("#confirm")
    page.click("button:has-text('Duyệt và phát hành cảnh báo thật')")
    assert "Đã duyệt và phát hành" in page.inner_text(".flash")
    sent = db.execute(
        "SELECT COUNT(*) FROM deliveries WHERE warning_id = ? AND target != 'broadcast'"
        " AND channel = 'sms'",
        [alert_id],
    ).fetchone()[0]
    assert sent == 6
    engine = Dispatcher(CONFIG, rng=random.Random(7))
    try:
        worker.tick(db, {**CONFIG, "WORKER_LEASE_SECONDS": 60}, engine)
    finally:
        engine.close()
    code = db.execute("SELECT code FROM warnings WHERE id = ?", [alert_id]).fetchone()[0]
    resident = page.context.browser.new_page()
    assert resident.goto(f"{live_server}/a/{code}").status == 200
    resident.close()

    problems.clear()  # the approval screen's own (its email preview frame) are not ours
    page.goto(f"{live_server}/admin/reach/warnings/{alert_id}")
    assert page.get_by_role("img", name="Tin gửi đi theo từng khoảng thời gian").is_visible()
    assert (
        page.get_by_role("img", name="Lượt xem và kiểm tra theo từng khoảng thời gian").count() == 1
    )
    assert page.locator('dd[data-view="page"]').inner_text() == "1"
    assert int(page.locator('dd[data-event="sent"]').inner_text()) >= 9
    page.click("summary:has-text('SMS')")
    assert page.locator("details[open] table th[scope=row]").first.is_visible()
    page.goto(f"{live_server}/admin/reach")
    assert page.get_by_role("img", name="Người đăng ký vào cuối mỗi tuần, theo kênh").is_visible()
    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert page.url.endswith("/admin/reach")
