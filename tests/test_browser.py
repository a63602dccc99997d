"""Sign-in flows in a real browser: Debian's chromium driven by Playwright over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser_fixtures import sign_in_browser
from tests.builders import local

pytestmark = pytest.mark.browser


def test_officer_signs_in_sees_unit_and_signs_out(page, live_server):
    sign_in_browser(page, live_server, "hoankiem.canbo")
    page.click(".nav a[href='/admin/unit']")
    assert page.inner_text("[data-testid=unit-name]") == "Công an phường Hoàn Kiếm"
    assert "Phường Hoàn Kiếm" in page.inner_text("[data-testid=unit-region]")
    assert page.inner_text("[data-testid=unit-parent]") == "Công an thành phố Hà Nội"
    page.click("text=Đăng xuất")
    assert page.url.endswith("/auth/login")
    page.goto(live_server + "/admin/")
    assert "/auth/login" in page.url


def test_wrong_password_is_shown_in_vietnamese(page, live_server):
    sign_in_browser(page, live_server, "hoankiem.canbo", "not my password")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.inner_text(".flash-error")


def test_language_switch_to_english(page, live_server):
    sign_in_browser(page, live_server, "hanoi.duyet")
    page.click(".nav a[href='/admin/unit']")
    page.click("button[value=en]")
    assert page.inner_text("h2").startswith("Units below")
    assert "Công an phường Hoàn Kiếm" in page.inner_text(".unit-list")


def test_officer_drafts_from_a_template_with_the_region_picker(page, live_server, db):
    sign_in_browser(page, live_server, "hanoi.canbo")
    page.click(".nav a[href='/admin/warnings/']")
    page.click("text=Soạn cảnh báo mới")
    page.click(".template-list a >> nth=0")
    assert "[" in page.input_value("textarea[name=description]")  # the template's blanks
    headline = "Cảnh báo giả danh công an gọi điện tại phường Hoàn Kiếm"
    page.fill("input[name=headline]", headline)
    assert page.inner_text("input[name=headline] + .counter") == f"{len(headline)} / 160"
    # The unit's province is preselected; swap it for one commune found without accents.
    assert "126" in page.inner_text(".region-count")
    page.click(".chip-remove")
    page.fill(".region-search", "hoan kiem")
    page.click(".region-results button:has-text('Phường Hoàn Kiếm')")
    assert page.inner_text(".region-count") == "Đã chọn 1 xã/phường"
    assert page.input_value("input[name=regions]") == "00070"
    page.fill("input[name=expires_at]", local(timedelta(days=3)))
    page.click("button:has-text('Lưu bản nháp')")
    assert "Đã lưu bản nháp" in page.inner_text(".flash")
    assert "Phường Hoàn Kiếm" in page.inner_text(".chips")
    # The template's blanks must be filled before it can be sent for approval.
    page.click("button:has-text('Gửi duyệt')")
    assert "Hãy điền các chỗ trống của mẫu trước" in page.inner_text(".flash-error")
    assert db.execute("SELECT status FROM warnings").fetchone() == ("draft",)


def test_approver_confirms_in_the_queue_and_the_warning_is_published(page, live_server, db):
    from tests.builders import CONFIG
    from tests.builders import submitted

    alert_id = submitted(db)
    sign_in_browser(page, live_server, "hanoi.duyet")
    page.click("text=Chờ duyệt")
    page.click(f"a[href='/admin/warnings/{alert_id}#review'] >> text=Xem xét")
    page.click("button:has-text('Duyệt và phát hành cảnh báo thật')")
    assert "Hãy đánh dấu ô xác nhận" in page.inner_text(".review")
    page.check("#confirm")
    page.click("button:has-text('Duyệt và phát hành cảnh báo thật')")
    assert "Đã duyệt và phát hành" in page.inner_text(".flash")
    code = db.execute("SELECT code FROM warnings WHERE id = ?", [alert_id]).fetchone()[0]
    assert f"{code[:4]}-{code[4:]}" in page.inner_text(".code")
    assert CONFIG  # the domain helpers share the test settings
