"""axe-core, run through Playwright in Debian's chromium, on every portal page (on a phone)
and every admin page (on a desktop), in Vietnamese and in English (issue 18): no serious or
critical violation anywhere. The pages show the demo's warnings in every state (published,
updated, cancelled, exercise), one waiting for approval, a draft and a resident's report;
the staff's day (tests/staff_day_setup.py) adds the work landings, search results, reach
cards, charts and timelines, dead letters and a work-notice address, on a desktop and on a
phone. Every ``<details>`` is opened first: axe skips what is not shown, and the charts'
tables are in them."""

from __future__ import annotations

import pytest

from alerts.demo import warnings as demo_warnings
from alerts.warnings import warning_templates
from tests.browser_fixtures import sign_in_browser
from tests.builders import CONFIG
from tests.builders import create
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.report_builders import add_report
from tests.staff_day_setup import seed_staff_day
from tests.staff_day_setup import staff_pages
from tests.test_warning_templates import FIELDS

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BLOCKING = {"serious", "critical"}
NOT_FOUND_PAGES = {"/r/99999", "/a/NOSUCHCODE"}  # the not-found page is checked too
PORTAL_PAGES = (
    "/",
    "/r/00070",
    "/r/01",
    "/r/99999",
    "/a/NOSUCHCODE",
    "/verify",
    "/verify?q=Tin nhắn lạ không có mã",
    "/verify/lookup?q=0912 345 678",
    "/about/verify",
    "/subscribe?region=00070",
    "/subscriptions",
    "/report?region=00070",
    "/report/withdraw",
)
ADMIN_PAGES = (
    "/admin/",
    "/admin/warnings/",
    "/admin/warnings/queue",
    "/admin/users",
    "/admin/users/new",
    "/admin/templates",
    "/admin/templates/new",
    "/admin/channels",
    "/admin/audit",
    "/admin/reports",
    "/admin/units/ca-01",
    "/admin/demo/phones",
    "/account/",
)


@pytest.fixture
def app(db_path):
    return make_app(db_path, **CONFIG | {"DATABASE": str(db_path)})


@pytest.fixture
def seeded(db):
    """The demo's warnings, one waiting for approval, a draft and a report."""
    demo_warnings.seed(db, CONFIG)
    waiting = submitted(db, headline="Cảnh báo lừa đảo đang chờ duyệt")
    draft = create(db, headline="Bản nháp cảnh báo lừa đảo")
    report = add_report(db)
    codes = [row[0] for row in db.execute("SELECT DISTINCT code FROM warnings WHERE code > ''")]
    ids = [row[0] for row in db.execute("SELECT id FROM warnings")]
    series = db.execute(
        "SELECT COUNT(DISTINCT series_id) FROM warnings WHERE code > ''"
    ).fetchone()[0]
    return {
        "codes": codes,
        "ids": ids,
        "series": series,
        "waiting": waiting,
        "draft": draft,
        "report": report,
    }


def tab(browser, base: str, lang: str, viewport: dict):
    """A fresh tab in ``lang`` with the given viewport."""
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    context.add_cookies([{"name": "lang", "value": lang, "url": base}])
    return context, context.new_page()


def blocking(page) -> list[str]:
    """Return the serious and critical axe violations of the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{page.url}: {violation['id']} ({violation['impact']}) {targets}")
    return found


def check_all(page, base: str, paths) -> list[str]:
    found = []
    for path in paths:
        response = page.goto(base + path)
        expected = 404 if path in NOT_FOUND_PAGES else 200  # the page, not another's
        assert response.status == expected, (path, response.status)
        found += blocking(page)
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_portal_page_on_a_phone(browser, live_server, seeded, lang):
    context, page = tab(browser, live_server, lang, PHONE)
    warnings = [f"/a/{code}" for code in seeded["codes"]]
    feeds_and_regions = ["/r/00004", "/r/48"]
    found = check_all(page, live_server, PORTAL_PAGES + tuple(warnings + feeds_and_regions))
    page.goto(live_server + warnings[0])
    shown = page.inner_text("article.warning")  # the fragment as the reader sees it
    context.close()
    assert not found, "\n".join(found)
    assert len(warnings) >= seeded["series"]  # every published warning's page was checked
    labels = {"vi": ("Đơn vị phát hành", "Hiệu lực đến"), "en": ("Issued by", "In force until")}
    other = "en" if lang == "vi" else "vi"
    assert all(label in shown for label in labels[lang]), shown
    assert not any(label in shown for label in labels[other]), shown


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_admin_page_on_a_desktop(browser, live_server, db, seeded, lang):
    context, page = tab(browser, live_server, lang, DESKTOP)
    found = check_all(page, live_server, ["/auth/login"])
    sign_in_browser(page, live_server, "bo.admin")
    assert "/auth/login" not in page.url
    warnings = [f"/admin/warnings/{alert_id}" for alert_id in seeded["ids"]]
    template = warning_templates.create_template(
        db,
        acting_as(db, "bo.admin"),
        unit_code="ca-01",
        name="Mẫu của Hà Nội",
        fields={**FIELDS, "headline": "Cảnh báo cuộc gọi giả danh [cơ quan]"},
    )
    officer = db.execute("SELECT id FROM users WHERE username = 'hoankiem.canbo'").fetchone()[0]
    extra = [
        f"/admin/reports/{seeded['report']}",
        "/admin/audit?page=2",
        f"/admin/templates/{template}",
        f"/admin/users/{officer}",
        "/account/totp",
    ]
    found += check_all(page, live_server, ADMIN_PAGES + tuple(warnings + extra))
    context.clear_cookies()  # the draft's own author edits it
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    sign_in_browser(page, live_server, "hoankiem.canbo")
    found += check_all(page, live_server, [f"/admin/warnings/{seeded['draft']}/edit"])
    context.close()
    assert not found, "\n".join(found)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_staff_pages_of_a_day(browser, app, live_server, db, fakes, lang, viewport):
    ids = seed_staff_day(db, fakes, app.config)
    context, page = tab(browser, live_server, lang, viewport)
    found, shown = [], {}
    for username, paths in staff_pages(ids).items():
        context.clear_cookies()
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
        sign_in_browser(page, live_server, username)
        for path in paths:
            assert page.goto(live_server + path).status == 200, path
            found += blocking(page)
            shown[username, path] = page.locator("main").inner_text()
    context.close()
    assert not found, "\n".join(found)
    # The pages showed what they are for, so that axe looked at it.
    search = next(text for (_user, path), text in shown.items() if "?q=" in path)
    assert "Cảnh báo lừa đảo mã OTP" in search
    assert "Thiếu số điện thoại" in shown["hoankiem.canbo", "/admin/"]
    dead = shown["bo.admin", "/admin/dead-letters"]
    assert "Bad Request" in dead
    assert "h***@bocongan.gov.vn" in shown["hoankiem.canbo", "/account/"]
