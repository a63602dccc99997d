"""Drafting a refutation in a real browser: its fields appear only when the type is chosen,
and the claim and its links reach the stored content."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.browser_fixtures import sign_in_browser
from tests.builders import local

pytestmark = pytest.mark.browser
CLAIM = "Từ 15/12 ai chưa cập nhật VNeID mức 2 sẽ bị khóa tài khoản <b>ngân hàng</b>!"


def test_the_claim_fields_show_for_a_refutation_and_are_saved(page, live_server, db):
    sign_in_browser(page, live_server, "hoankiem.canbo")
    page.goto(live_server + "/admin/warnings/new")
    assert not page.is_visible("textarea[name=claim]")
    page.select_option("select[name=warning_type]", "fake_news")
    assert page.is_visible("textarea[name=claim]")
    assert "Nội dung tin giả đang lan truyền" in page.inner_text("fieldset.refutation")
    page.fill("input[name=headline]", "Thông tin khóa tài khoản nếu chưa có VNeID là sai sự thật")
    page.fill("textarea[name=description]", "Bộ Công an không khóa tài khoản ngân hàng.")
    page.fill("textarea[name=instruction]", "Không chia sẻ tin này.")
    page.fill("textarea[name=claim]", CLAIM)
    page.fill("textarea[name=claim_links]", "hxxp://vneid-capnhat[.]com/cap-nhat")
    page.fill("input[name=expires_at]", local(timedelta(days=3)))
    page.click("button:has-text('Lưu bản nháp')")
    assert "Đã lưu bản nháp" in page.inner_text(".flash")
    stored = json.loads(db.execute("SELECT content FROM warnings").fetchone()[0])
    assert stored["refutation"] == {
        "claim": CLAIM,
        "links": ["http://vneid-capnhat.com/cap-nhat"],
    }
    # Another type hides the fields again.
    page.goto(live_server + "/admin/warnings/new")
    page.select_option("select[name=warning_type]", "theft")
    assert not page.is_visible("textarea[name=claim]")
