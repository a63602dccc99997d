"""In a browser: the shared front door adds the visitor's remembered area by its own
request (portal.js), and the language chosen in the URL stays from page to page."""

from __future__ import annotations

from tests.builders import published


def test_the_remembered_area_comes_to_the_shared_front_door(page, live_server, db):
    alert = published(db, headline="Cảnh báo ở phường của tôi")
    page.goto(live_server + "/r/00070")
    page.click("a[href='/r/00070/remember']")
    page.click("[data-testid=remember] button.primary")
    assert page.url == live_server + "/"
    mine = page.wait_for_selector("[data-testid=my-area]")
    assert "Cảnh báo ở phường của tôi" in mine.inner_text()
    assert mine.query_selector(f"a[href='/a/{alert.code}']") is not None
    page.click("[data-testid=my-area] button[type=submit]")  # forget it
    page.wait_for_load_state("networkidle")
    assert page.query_selector("[data-testid=my-area]") is None
    assert page.query_selector("#my-area-slot") is not None


def test_the_language_in_the_url_stays_and_suggestions_still_come(page, live_server):
    page.goto(live_server + "/")
    page.click("a[hreflang=en]")
    page.wait_for_load_state("load")  # portal.js listens for typing once it has run
    assert page.get_attribute("html", "lang") == "en"
    page.fill("#region-q", "hoan kiem")
    suggestion = page.wait_for_selector("#region-suggestions a")
    assert "Hoàn Kiếm" in suggestion.inner_text()
    page.goto(live_server + "/r/00070?lang=en")
    page.click(".crumbs a[href='/r/01?lang=en']")
    assert page.get_attribute("html", "lang") == "en"
    assert "Warnings in force here" in page.inner_text("main")
