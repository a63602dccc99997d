"""Photograph the running demo for docs/: the portal and the admin, phone and desktop."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "demo-canhbao-2026"


def wait_until_ready(base: str, timeout: float = 120) -> None:
    """Wait for the web app, its worker and the first deliveries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if json.load(answer).get("worker"):
                    time.sleep(6)  # a few worker passes: the demo warnings go out
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("the demo did not start: see the log of scripts/run")


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")


def first_warning_link(page, base: str) -> str:
    page.goto(base + "/")
    return page.get_attribute("a[href^='/a/']", "href")


def shoot(browser, base: str, out: Path) -> list[str]:
    taken = []
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="vi-VN")
        page = context.new_page()
        warning = first_warning_link(page, base)
        public = {
            "portal-home": "/",
            "portal-commune": "/r/00070",
            "portal-warning": warning,
            "verify": "/verify?q=" + warning.rsplit("/", 1)[-1],
            "subscribe": "/subscribe",
        }
        for name, path in public.items():
            page.goto(base + path)
            page.screenshot(path=out / f"{name}-{size}.png", full_page=size == "desktop")
            taken.append(f"{name}-{size}.png")
        sign_in(page, base, "hanoi.duyet")
        admin = {
            "admin-warnings": "/admin/warnings/?show=all",
            "admin-phones": "/admin/demo/phones",
        }
        for name, path in admin.items():
            page.goto(base + path)
            page.screenshot(path=out / f"{name}-{size}.png")
            taken.append(f"{name}-{size}.png")
        page.goto(base + "/admin/warnings/?show=published")
        page.click("table a >> nth=0")
        page.screenshot(path=out / f"admin-warning-{size}.png")
        taken.append(f"admin-warning-{size}.png")
        # An element shot scrolls it into view, so the sandboxed preview frames are painted.
        page.locator("#preview").scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        page.locator("#preview").screenshot(path=out / f"admin-preview-{size}.png")
        taken.append(f"admin-preview-{size}.png")
        context.close()
    return taken


def main() -> None:
    base, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(exist_ok=True)
    wait_until_ready(base)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        taken = shoot(browser, base, out)
        browser.close()
    print("\n".join(f"docs/{name}" for name in taken))


if __name__ == "__main__":
    main()
