"""The staff's day in a real browser (issue 18): an officer lands on their work, sends a
draft for approval; the approver sees it counted in the header and waiting after an older
one with its age, opens it, sees whom it will reach, approves; the officer's header and
work follow. A search without diacritics and a filter find it. The ministry replays an
account's dead letters, audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from alerts.warnings import workflow
from tests.browser_fixtures import sign_in_browser
from tests.builders import CONFIG
from tests.builders import create
from tests.builders import published
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.reach_setup import seed_hanoi
from tests.staff_day_setup import seed_staff_day

pytestmark = pytest.mark.browser

DRAFT = "Cảnh báo giả danh nhân viên điện lực đòi tiền cắt điện"


@pytest.fixture
def app(db_path):
    return make_app(db_path, **CONFIG | {"DATABASE": str(db_path)})


def header_count(page, testid: str) -> int | None:
    """The number in the header link ``testid`` (None when there is none)."""
    found = re.search(r"\d+", page.inner_text(f"[data-testid={testid}]"))
    return int(found.group()) if found else None


def _morning(db) -> int:
    """The officer's morning: a draft, one returned with its reason, a published one; and
    an older warning of another officer that waits three hours. Return the draft's id."""
    draft = create(db, headline=DRAFT, channels=["telegram", "email"])
    returned = submitted(db, headline="Cảnh báo tin nhắn trúng thưởng giả")
    approver = acting_as(db, "hanoi.duyet")
    seen = workflow.visible(db, approver, returned).content_hash
    workflow.reject(db, approver, returned, reason="Thiếu đường dẫn giả mạo", seen_hash=seen)
    published(db, headline="Cảnh báo cuộc gọi video giả danh công an")
    older = submitted(db, "hanoi.canbo", regions=["01"], headline="Cảnh báo gửi từ sáng sớm")
    with write(db):
        db.execute(
            "UPDATE warnings SET submitted_at = ? WHERE id = ?",
            [to_text(utcnow() - timedelta(hours=3)), older],
        )
    return draft


def test_a_warning_goes_from_the_officers_work_to_the_approver_and_back(
    browser, live_server, db, fakes
):
    seed_hanoi(db, fakes)  # two Telegram residents in Hoàn Kiếm, one email province-wide
    draft = _morning(db)
    officer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in_browser(officer, live_server, "hoankiem.canbo")
    assert officer.url == live_server + "/admin/"
    assert DRAFT in officer.inner_text("#drafts")
    assert "Thiếu đường dẫn giả mạo" in officer.inner_text("#returned [data-testid=reject-reason]")
    assert "Cảnh báo cuộc gọi video giả danh công an" in officer.inner_text("#recent")
    assert header_count(officer, "work-link") == 2
    officer.click(f"#drafts a:has-text('{DRAFT}')")
    officer.click("button:has-text('Gửi duyệt')")
    assert "Đã gửi duyệt" in officer.inner_text(".flash")  # waits for the page after it
    assert db.execute("SELECT status FROM warnings WHERE id = ?", [draft]).fetchone() == (
        "submitted",
    )
    assert header_count(officer, "work-link") == 1

    approver = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in_browser(approver, live_server, "hanoi.duyet")
    assert header_count(approver, "queue-link") == 2
    waiting = approver.locator("tr[data-testid=waiting]")
    assert "Cảnh báo gửi từ sáng sớm" in waiting.nth(0).inner_text()
    assert "3 tiếng" in waiting.nth(0).inner_text()
    assert DRAFT in waiting.nth(1).inner_text()
    waiting.nth(1).locator("a").click()
    card = approver.locator("#reach")
    assert card.locator('tr[data-channel="telegram"] td').inner_text() == "2"
    assert card.locator('tr[data-channel="email"] td').inner_text() == "1"
    assert "3 tin nhắn tới người dân" in card.inner_text()
    approver.check("#confirm")
    approver.click("button:has-text('Duyệt và phát hành cảnh báo thật')")
    assert "Đã duyệt và phát hành" in approver.inner_text(".flash")
    assert header_count(approver, "queue-link") == 1
    assert db.execute("SELECT status FROM warnings WHERE id = ?", [draft]).fetchone() == (
        "published",
    )
    queued = db.execute(
        "SELECT channel, COUNT(*) FROM deliveries WHERE warning_id = ? AND target != 'broadcast'"
        " GROUP BY channel ORDER BY channel",
        [draft],
    ).fetchall()
    assert queued == [("email", 1), ("telegram", 2)]  # the numbers the approver was shown

    officer.goto(live_server + "/admin/")
    assert DRAFT in officer.inner_text("#recent") and DRAFT not in officer.inner_text("#drafts")
    assert "đã phát hành" in officer.locator(f"#recent tr:has-text('{DRAFT}')").inner_text()
    officer.click(".nav a[href='/admin/warnings/']")
    officer.fill("input[name=q]", "nhan vien dien luc")
    officer.select_option("select[name=status]", "published")
    officer.click("form.warning-search button[type=submit]")
    officer.wait_for_url(re.compile(r"q=nhan\+vien\+dien\+luc.*status=published"))
    assert officer.locator("tbody tr").count() == 1
    assert DRAFT in officer.inner_text("tbody")
    assert officer.inner_text("[data-testid=found]") == "Tìm thấy 1 cảnh báo"
    officer.select_option("select[name=status]", "draft")
    officer.click("form.warning-search button[type=submit]")
    officer.wait_for_url(re.compile(r"status=draft"))
    assert DRAFT not in officer.inner_text("tbody")
    officer.context.close()
    approver.context.close()


def test_the_ministry_replays_the_dead_letters_of_an_account(browser, app, live_server, db, fakes):
    ids = seed_staff_day(db, fakes, app.config)
    telegram = "SELECT status FROM deliveries WHERE warning_id = ? AND channel = 'telegram'"
    dead = [row[0] for row in db.execute(telegram, [ids["published"]])]
    assert dead and set(dead) == {"dead"}
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in_browser(page, live_server, "bo.duyet")
    page.click("#waiting a:has-text('Tin gửi thất bại')")
    page.wait_for_url("**/admin/dead-letters")
    row = page.locator("tr[data-testid=dead-account]")
    assert row.count() == 1 and "Bad Request" in row.inner_text()
    row.locator("button").click()
    assert f"{len(dead)} " in page.inner_text(".flash")
    assert page.locator("tr[data-testid=dead-account]").count() == 0
    assert {row[0] for row in db.execute(telegram, [ids["published"]])} == {"queued"}
    audited = db.execute(
        "SELECT actor, action FROM audit_log WHERE action = 'delivery.replay_account'"
    ).fetchall()
    assert audited == [("bo.duyet", "delivery.replay_account")]
    page.context.close()
