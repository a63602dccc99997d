"""The whole path in a real browser (Debian's chromium via Playwright) over real HTTP: an
officer drafts a commune warning, an approver approves it, the worker delivers it to the
fake channels, it appears on the commune's page and in its feed, a resident subscribes and
confirms, verifies a message they received, and detects an altered one."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
import httpx
import pytest

from alerts.delivery.engine import Dispatcher
from tests.browser_fixtures import sign_in_browser as _sign_in
from tests.builders import local
from tests.delivery_setup import add_accounts
from tests.delivery_setup import running_fakes
from tests.delivery_setup import subscribe

pytestmark = pytest.mark.browser
HEADLINE = "Cảnh báo đối tượng giả danh công an phường gọi điện đòi mã OTP"


def _sign_out(page):
    page.click("button:has-text('Đăng xuất')")


def _draft_and_submit(page, base):
    _sign_in(page, base, "hoankiem.canbo")
    page.goto(base + "/admin/warnings/new")
    page.fill("input[name=headline]", HEADLINE)
    page.fill("textarea[name=description]", "Đối tượng gọi điện tự xưng công an phường.")
    page.fill("textarea[name=instruction]", "Không cung cấp mã OTP cho bất kỳ ai. Gọi 113.")
    page.fill("input[name=expires_at]", local(timedelta(days=3)))
    page.fill("textarea[name=phones]", "0912 345 678")
    page.click("button:has-text('Lưu bản nháp')")
    page.click("button:has-text('Gửi duyệt')")
    assert "Đã gửi duyệt" in page.inner_text(".flash")
    _sign_out(page)


def _approve(page, base):
    _sign_in(page, base, "hanoi.duyet")
    page.goto(base + "/admin/warnings/queue")
    page.click("text=Xem xét >> nth=0")
    page.check("#confirm")
    page.click("button:has-text('Duyệt và phát hành cảnh báo thật')")
    assert "Đã duyệt và phát hành" in page.inner_text(".flash")
    code = page.inner_text(".code").replace("-", "")
    _sign_out(page)
    return code


def _subscribe_and_confirm(page, base, fakes, dispatcher, db):
    page.goto(base + "/subscribe")
    page.fill("#q", "hoan kiem")
    page.click(".picker-results button:has-text('Phường Hoàn Kiếm')")
    page.fill("input[name=address]", "0912 000 111")
    page.click("button[value=subscribe]")
    dispatcher.dispatch_due(db)  # the confirmation SMS goes out through the engine
    text = fakes.state.recorded("esms")[-1].json["Content"]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    page.goto(base + "/subscribe/confirm")
    page.select_option("select[name=channel]", "sms")
    page.fill("input[name=address]", "0912 000 111")
    page.fill("input[name=code]", code)
    page.click("form button.primary")
    status = db.execute("SELECT status FROM subscriptions WHERE address = '+84912000111'")
    assert [r[0] for r in status] == ["active"]


def test_the_whole_path(page, live_server, app, db):
    with running_fakes() as fakes:
        add_accounts(db, dict(app.config), fakes)
        subscribe(db, "sms", "+84912345001", "00070")
        dispatcher = Dispatcher(app.config)
        try:
            _draft_and_submit(page, live_server)
            code = _approve(page, live_server)
            dispatcher.dispatch_due(db)
            received = fakes.state.recorded("esms")[0].json["Content"]
            assert code[:4] in received
            assert "Ngung nhan tin: http://127.0.0.1:5000/unsubscribe/" in received  # own link

            page.goto(live_server + "/r/00070")
            assert HEADLINE in page.inner_text("main")
            feed = feedparser.parse(httpx.get(live_server + "/feeds/00070.atom").content)
            assert not feed.bozo and feed.entries[0].title.endswith(HEADLINE)

            _subscribe_and_confirm(page, live_server, fakes, dispatcher, db)

            page.goto(live_server + "/verify")
            page.fill("textarea[name=text]", received)
            page.click("form button.primary >> nth=0")
            assert page.is_visible(".verdict-genuine")

            altered = received.replace("Khong cung cap", "Hay cung cap ngay")
            page.goto(live_server + "/verify")
            page.fill("textarea[name=text]", altered)
            page.click("form button.primary >> nth=0")
            assert page.is_visible(".verdict-altered")
        finally:
            dispatcher.close()
