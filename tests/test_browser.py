"""Sign-in flows in a real browser: Debian's chromium driven by Playwright over real HTTP."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free loopback port for the length of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab with its own cookies, phone-sized."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def _sign_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")


def test_officer_signs_in_sees_unit_and_signs_out(page, live_server):
    _sign_in(page, live_server, "hoankiem.canbo")
    assert page.inner_text("[data-testid=unit-name]") == "Công an phường Hoàn Kiếm"
    assert "Phường Hoàn Kiếm" in page.inner_text("[data-testid=unit-region]")
    assert page.inner_text("[data-testid=unit-parent]") == "Công an thành phố Hà Nội"
    page.click("text=Đăng xuất")
    assert page.url.endswith("/auth/login")
    page.goto(live_server + "/admin/")
    assert "/auth/login" in page.url


def test_wrong_password_is_shown_in_vietnamese(page, live_server):
    _sign_in(page, live_server, "hoankiem.canbo", "not my password")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.inner_text(".flash-error")


def test_language_switch_to_english(page, live_server):
    _sign_in(page, live_server, "hanoi.duyet")
    page.click("button[value=en]")
    assert page.inner_text("h2").startswith("Units below")
    assert "Công an phường Hoàn Kiếm" in page.inner_text(".unit-list")
