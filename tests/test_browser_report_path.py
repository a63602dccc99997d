"""From a resident's report to a published warning, in a real browser (Debian's chromium via
Playwright) over real HTTP: a resident files a report on the portal's /report page, the
commune officer finds it in the inbox, drafts a warning from it, fills the blanks and sends
it for approval, a provincial approver approves it, and the worker tells the reporter on
their channel (a notice queued, then sent to the fake SMTP server)."""

from __future__ import annotations

import pytest

from alerts.delivery import worker
from alerts.delivery.engine import Dispatcher
from tests.browser_fixtures import sign_in_browser as _sign_in
from tests.delivery_setup import add_accounts
from tests.delivery_setup import running_fakes
from tests.test_browser_path import _approve
from tests.test_browser_path import _sign_out
from tests.test_subscriptions import received

pytestmark = pytest.mark.browser
REPORTER = "dan.nguyen@example.vn"
HEADLINE = "Cảnh báo đối tượng giả danh công an phường gọi điện đòi chuyển tiền"


def _file_report(page, base) -> str:
    page.goto(base + "/report?region=00070")
    page.check("input[name=kind][value=scam_call]")
    page.fill("textarea[name=text]", "Người gọi tự xưng công an phường, <b>đòi chuyển tiền</b>.")
    page.fill("textarea[name=phones]", "0987 654 321")
    page.fill("input[name=contact]", REPORTER)
    page.click("button[value=report]")
    return page.inner_text("[data-testid=report-code]").strip()


def _draft_from_the_inbox(page, base, code: str):
    _sign_in(page, base, "hoankiem.canbo")
    assert page.inner_text("[data-testid=new-reports]") == "(1)"
    page.click("[data-testid=reports-link]")
    row = page.locator(f"tr[data-code='{code}']")
    assert "Cuộc gọi lừa đảo" in row.inner_text() and "<b>" in row.inner_text()  # as text
    page.check(f"#pick-{code}")
    page.click("button:has-text('Soạn cảnh báo từ tin báo')")
    assert "/admin/warnings/" in page.url and page.url.endswith("/edit")
    assert page.input_value("textarea[name=phones]") == "+84987654321"
    page.fill("input[name=headline]", HEADLINE)
    page.fill("textarea[name=description]", "Công an phường Hoàn Kiếm nhận tin báo về cuộc gọi.")
    page.fill("textarea[name=instruction]", "Không chuyển tiền cho người lạ. Gọi 113 khi nghi ngờ.")
    page.click("button:has-text('Lưu thay đổi')")
    page.click("button:has-text('Gửi duyệt')")
    assert "Đã gửi duyệt" in page.inner_text(".flash")
    _sign_out(page)


def test_a_residents_report_becomes_a_published_warning(page, live_server, app, db):
    with running_fakes() as fakes:
        add_accounts(db, dict(app.config), fakes)
        dispatcher = Dispatcher(app.config)
        try:
            code = _file_report(page, live_server)
            _draft_from_the_inbox(page, live_server, code)
            published = _approve(page, live_server)
            worker.tick(db, app.config, dispatcher)
            notice = db.execute(  # once sent, a notice keeps only a masked target
                "SELECT kind, channel, status, idempotency_key FROM notices"
            ).fetchall()
            assert [n[:3] for n in notice] == [("report", "email", "sent")]
            assert notice[0][3].startswith("n-report-published-")
            (told,) = received(fakes, "email", REPORTER)
            assert code in told and f"/a/{published}" in told
            _sign_in(page, live_server, "hoankiem.canbo")
            page.goto(live_server + f"/admin/reports/{code}")
            history = page.inner_text("[data-testid=history]")
            assert "đã soạn cảnh báo từ tin báo này" in history
            assert "đã trả lời người báo tin" in history
        finally:
            dispatcher.close()
