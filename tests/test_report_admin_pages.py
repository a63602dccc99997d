"""The officers' report inbox pages (issue 16), through the Flask test client on a real
SQLite file: the list within jurisdiction (404 outside, never 403), new first with Vietnam
times, counts and groups; a report's page with its actions as CSRF-protected forms (states,
assignment, replies on the reporter's channel), the text shown as text only, the screenshot
for officers only; a warning drafted from reports."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.store import report_inbox as store
from tests.builders import CONFIG
from tests.conftest import csrf_token
from tests.conftest import make_app
from tests.conftest import sign_in
from tests.delivery_setup import add_accounts
from tests.delivery_setup import running_fakes
from tests.report_builders import add_report
from tests.report_builders import other_commune
from tests.report_builders import unit_id

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
VN_TIME = re.compile(r"\b\d{2}:\d{2} \d{2}/\d{2}/\d{4}\b")  # alerts.i18n: HH:mm dd/mm/yyyy


@pytest.fixture
def app(db_path):
    """The app sharing the builders' data key (the reporters' contacts open with it)."""
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


@pytest.fixture
def officer(client):
    assert sign_in(client, "hoankiem.canbo").status_code == 302
    return client


@pytest.fixture
def accounts(db):
    with running_fakes() as fakes:
        yield add_accounts(db, CONFIG, fakes)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def act(client, code: str, what: str, **data):
    """POST one of the report page's forms with the page's CSRF token."""
    token = csrf_token(client, f"/admin/reports/{code}")
    return client.post(f"/admin/reports/{code}/{what}", data={"csrf_token": token, **data})


def status_of(db, code: str) -> str:
    return store.get_by_code(db, code).status


def audit_of(db, action: str) -> list[dict]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = ? ORDER BY id", [action])
    return [json.loads(r[0]) for r in rows]


def test_the_inbox_lists_the_units_reports_new_first_with_vietnam_times(officer, db):
    reviewed = add_report(db, created_at=utcnow() - timedelta(hours=3))
    act(officer, reviewed, "move", action="review")
    older = add_report(db, created_at=utcnow() - timedelta(minutes=42))
    newest = add_report(db, created_at=utcnow() - timedelta(minutes=5))
    elsewhere = add_report(db, region=other_commune(db))
    html = page(officer, "/admin/reports")
    listed = re.findall(r'<tr data-code="([^"]+)"', html)
    assert listed == [newest, older, reviewed] and elsewhere not in html
    assert "42 phút trước" in html and "5 phút trước" in html
    assert VN_TIME.search(html)
    assert 'data-testid="new-reports" title="tin báo mới">(2)</strong>' in html
    assert re.search(r'data-testid="open-count">3<', html)
    assert re.search(r'data-testid="median-review">3 giờ<', html)
    waiting = page(officer, "/admin/reports?show=in_review")
    assert re.findall(r'<tr data-code="([^"]+)"', waiting) == [reviewed]
    assert page(officer, "/admin/reports?show=nonsense").count("<tr data-code=") == 3


def test_the_same_indicator_from_several_communes_is_grouped(client, db):
    one = add_report(db, indicators=("phone:0987 654 321",))
    two = add_report(db, region=other_commune(db), indicators=("phone:0987654321",))
    add_report(db, indicators=("phone:0911 000 111",))
    assert sign_in(client, "hanoi.canbo").status_code == 302
    groups = page(client, "/admin/reports").split('id="groups"')[1]
    assert "+84987654321" in groups and "2 tin báo" in groups and "2 xã, phường" in groups
    assert f'value="{one}"' in groups and f'value="{two}"' in groups
    assert "+84911000111" not in groups


def test_a_report_outside_the_jurisdiction_is_not_found(officer, db):
    code = add_report(db, region=other_commune(db), image=("image/png", PNG))
    for url in (f"/admin/reports/{code}", f"/admin/reports/{code}/screenshot"):
        assert officer.get(url).status_code == 404
    assert officer.get("/admin/reports/BT-NO-SUCH").status_code == 404
    token = csrf_token(officer, "/admin/reports")
    moved = officer.post(
        f"/admin/reports/{code}/move", data={"csrf_token": token, "action": "review"}
    )
    assert moved.status_code == 404 and status_of(db, code) == "new"
    assert audit_of(db, "report.refused") == []  # nothing about it may leak, even in the log


def test_states_change_through_the_pages_forms(officer, db):
    code, first = add_report(db), add_report(db)
    assert act(officer, code, "move", action="review").status_code == 303
    assert status_of(db, code) == "in_review"
    no_reason = act(officer, code, "move", action="dismiss", reason=" ")
    assert no_reason.status_code == 422 and "nêu lý do" in no_reason.get_data(as_text=True)
    assert status_of(db, code) == "in_review"
    no_code = act(officer, code, "move", action="duplicate")
    assert no_code.status_code == 422 and status_of(db, code) == "in_review"
    assert act(officer, code, "move", action="duplicate", duplicate_of=first).status_code == 303
    assert store.get_by_code(db, code).duplicate_of == store.get_by_code(db, first).id
    again = act(officer, first, "move", action="dismiss", reason="Không phải lừa đảo")
    assert again.status_code == 303 and status_of(db, first) == "dismissed"
    late = act(officer, first, "move", action="review")
    assert late.status_code == 409 and status_of(db, first) == "dismissed"
    assert [e["code"] for e in audit_of(db, "report.review")] == [code]
    assert audit_of(db, "report.dismiss")[0]["reason"] == "Không phải lừa đảo"
    history = page(officer, f"/admin/reports/{code}").split('data-testid="history"')[1]
    assert "đã nhận xem xét" in history and "đã đánh dấu trùng lặp" in history


def test_a_forwarded_report_is_handled_above_and_read_only_below(officer, client, db, app):
    code = add_report(db)
    assert act(officer, code, "move", action="forward").status_code == 303
    row = store.get_by_code(db, code)
    assert row.status == "forwarded" and row.unit_id == unit_id(db, "ca-01")
    below = page(officer, f"/admin/reports/{code}")
    assert 'id="actions"' not in below
    province = app.test_client()
    assert sign_in(province, "hanoi.canbo").status_code == 302
    assert code in page(province, "/admin/reports")
    assert act(province, code, "move", action="confirm").status_code == 303
    assert status_of(db, code) == "confirmed"


def test_a_report_is_assigned_to_an_officer_of_its_unit_only(officer, db):
    code = add_report(db)
    assert act(officer, code, "assign", assigned_to="hoankiem.canbo").status_code == 303
    hoankiem = db.execute("SELECT id FROM users WHERE username = 'hoankiem.canbo'").fetchone()[0]
    assert store.get_by_code(db, code).assigned_to == hoankiem
    assert "(hoankiem.canbo)" in page(officer, f"/admin/reports/{code}")
    outsider = act(officer, code, "assign", assigned_to="haichau.canbo")
    assert outsider.status_code == 422 and "haichau.canbo" in outsider.get_data(as_text=True)
    assert store.get_by_code(db, code).assigned_to == hoankiem
    assert act(officer, code, "assign", assigned_to="").status_code == 303
    assert store.get_by_code(db, code).assigned_to is None
    assert [e["to"] for e in audit_of(db, "report.assign")] == ["hoankiem.canbo", None]


def test_a_reply_is_queued_on_the_reporters_channel(officer, db, accounts):
    code = add_report(db, channel="telegram", contact="100001", account_id=accounts["telegram"])
    shown = page(officer, f"/admin/reports/{code}")
    assert "Gửi qua Telegram, tối đa 1000 ký tự." in shown
    response = act(officer, code, "reply", text="Cảm ơn, chúng tôi đang xác minh.")
    assert response.status_code == 303
    rows = db.execute("SELECT kind, channel, target, text FROM notices").fetchall()
    assert rows == [("report", "telegram", "100001", "Cảm ơn, chúng tôi đang xác minh.")]
    assert audit_of(db, "report.replied") == [
        {"code": code, "status": "new", "channel": "telegram", "fixed": False}
    ]
    empty = act(officer, code, "reply", text="  ")
    assert empty.status_code == 422
    assert db.execute("SELECT COUNT(*) FROM notices").fetchone()[0] == 1


def test_sms_and_a_closed_zalo_window_say_so_and_refuse_free_text(officer, db, accounts):
    sms = add_report(db, channel="portal", contact="+84912345678")
    assert "chỉ nhận mã tin báo và kết quả" in page(officer, f"/admin/reports/{sms}")
    assert act(officer, sms, "reply", text="Gọi lại cho tôi").status_code == 409
    old = add_report(db, account_id=accounts["zalo"], created_at=utcnow() - timedelta(days=8))
    shown = page(officer, f"/admin/reports/{old}")
    assert "thời hạn này đã hết" in shown and f'action="/admin/reports/{old}/reply"' not in shown
    assert act(officer, old, "reply", text="Xin chào").status_code == 409
    assert db.execute("SELECT COUNT(*) FROM notices").fetchone()[0] == 0


def test_a_form_without_its_csrf_token_is_refused(officer, db):
    code = add_report(db)
    response = officer.post(f"/admin/reports/{code}/move", data={"action": "review"})
    assert response.status_code == 400 and status_of(db, code) == "new"
    forged = officer.post("/admin/reports/draft", data={"reports": code})
    assert forged.status_code == 400 and store.get_by_code(db, code).warning_id is None
    assert len(audit_of(db, "request.csrf_refused")) == 2


def test_a_residents_text_is_shown_as_text_and_its_links_defanged(officer, db):
    hostile = (
        '<script>alert("x")</script><img src=x onerror=alert(1)>'
        " Vào http://vneid-capnhat.com/login ngay"
    )
    code = add_report(db, text=hostile, indicators=("link:https://vneid-capnhat.com/login",))
    for url in ("/admin/reports", f"/admin/reports/{code}"):
        html = page(officer, url)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
        assert "hxxp://vneid-capnhat[.]com/login" in html
        assert "hxxps://vneid-capnhat[.]com/login" in html
        assert 'href="http://vneid' not in html and 'href="https://vneid' not in html


def test_the_screenshot_is_served_to_officers_only_and_never_cached(officer, client, db, app):
    code = add_report(db, image=("image/png", PNG))
    assert f'src="/admin/reports/{code}/screenshot"' in page(officer, f"/admin/reports/{code}")
    shot = officer.get(f"/admin/reports/{code}/screenshot")
    assert shot.status_code == 200 and shot.data == PNG
    assert shot.mimetype == "image/png" and shot.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in shot.headers["Cache-Control"]
    anonymous = app.test_client().get(f"/admin/reports/{code}/screenshot")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    other = app.test_client()
    assert sign_in(other, "haichau.canbo").status_code == 302
    assert other.get(f"/admin/reports/{code}/screenshot").status_code == 404
    none = add_report(db)
    assert officer.get(f"/admin/reports/{none}/screenshot").status_code == 404


def test_a_warning_is_drafted_from_the_chosen_reports(officer, db):
    one = add_report(db, indicators=("phone:0987 654 321",))
    two = add_report(db, indicators=("link:hxxp://vneid[.]top/a",), kind="fake_site")
    token = csrf_token(officer, "/admin/reports")
    response = officer.post(
        "/admin/reports/draft", data={"csrf_token": token, "reports": [one, two]}
    )
    assert response.status_code == 303
    alert_id = store.get_by_code(db, one).warning_id
    assert response.headers["Location"].endswith(f"/admin/warnings/{alert_id}/edit")
    assert store.get_by_code(db, two).warning_id == alert_id
    row = db.execute("SELECT status, unit_id FROM warnings WHERE id = ?", [alert_id]).fetchone()
    assert row == ("draft", unit_id(db, "ca-00070"))
    form = page(officer, f"/admin/warnings/{alert_id}/edit")
    assert "+84987654321" in form and "http://vneid.top/a" in form and "[thủ đoạn]" in form
    assert len(audit_of(db, "report.warning_drafted")) == 2
    nothing = officer.post("/admin/reports/draft", data={"csrf_token": token})
    assert nothing.status_code == 422 and "chọn ít nhất một tin báo" in nothing.get_data(
        as_text=True
    )


def test_a_draft_from_reports_cannot_be_sent_until_its_blanks_are_filled(officer, db):
    code = add_report(db)
    token = csrf_token(officer, "/admin/reports")
    officer.post("/admin/reports/draft", data={"csrf_token": token, "reports": [code]})
    alert_id = store.get_by_code(db, code).warning_id
    token = csrf_token(officer, f"/admin/warnings/{alert_id}")
    refused = officer.post(f"/admin/warnings/{alert_id}/submit", data={"csrf_token": token})
    assert refused.status_code == 422
    assert db.execute("SELECT status FROM warnings WHERE id = ?", [alert_id]).fetchone() == (
        "draft",
    )


def test_a_report_outside_the_jurisdiction_drafts_nothing(officer, db):
    code = add_report(db, region=other_commune(db))
    token = csrf_token(officer, "/admin/reports")
    response = officer.post("/admin/reports/draft", data={"csrf_token": token, "reports": code})
    assert response.status_code == 404
    assert db.execute("SELECT COUNT(*) FROM warnings").fetchone()[0] == 0
