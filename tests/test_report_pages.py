"""The "Báo tin cho Công an" pages end to end: the test client with CSRF, and a resident
filing a report in a real browser (Debian's chromium) on a phone, checked with axe-core."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import csrf_token
from tests.conftest import post_form

FORM = {
    "action": "report",
    "kind": "scam_message",
    "province": "01",
    "region": "00070",
    "text": "Tin nhắn <b>giả</b> ngân hàng: bấm https://vcb-xacthuc.com/dang-nhap để nhận quà",
    "phones": "0912 345 678\n",
    "accounts": "",
    "links": "https://vcb-xacthuc.com/dang-nhap",
    "contact": "0987654321",
}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    return out.getvalue()


def file_one(client, **changes):
    """POST the form as a browser does (multipart). Encoded here in memory: the test client
    spools a large body to a temporary file it never closes (a ResourceWarning)."""
    data = {"csrf_token": csrf_token(client, "/report"), **FORM, **changes}
    data = {k: FileStorage(*v, name=k) if isinstance(v, tuple) else v for k, v in data.items()}
    boundary, body = encode_multipart(data)
    return client.post(
        "/report", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_the_form_is_in_vietnamese_and_prefilled_from_the_region(client):
    page = client.get("/report?region=00070").get_data(as_text=True)
    assert "Báo tin cho Công an" in page and 'enctype="multipart/form-data"' in page
    assert re.search(r'<option selected value="00070">|value="00070" selected', page)
    assert "Cuộc gọi lừa đảo" in page and "Tin giả đang lan truyền" in page


def test_showing_a_provinces_communes_files_nothing(client, db):
    response = file_one(client, action="province", province="48", region="")
    assert response.status_code == 200 and "Phường Hải Châu" in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM reports").fetchone() == (0,)


def test_a_resident_files_a_report_and_gets_its_reference(client, db):
    response = file_one(
        client, image=FileStorage(io.BytesIO(png()), "chup-man-hinh.png", "image", "image/png")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    code = re.search(r'data-testid="report-code"><strong>(BT-[A-Z0-9]{4}-[A-Z0-9]{4})', page)[1]
    assert "Công an phường Hoàn Kiếm" in page and "+84******321" in page
    assert "hxxps://vcb-xacthuc[.]com/dang-nhap" in page
    assert "https://vcb-xacthuc.com" not in page and "<b>giả</b>" not in page
    assert f"/report/withdraw?code={code}" in page
    stored = db.execute("SELECT code, kind, region_code, channel FROM reports").fetchall()
    assert stored == [(code, "scam_message", "00070", "portal")]
    assert db.execute("SELECT mime FROM report_images").fetchall() == [("image/png",)]


def test_a_report_without_the_forms_token_is_refused(client, db):
    data = {**FORM, "csrf_token": "forged"}
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert db.execute("SELECT count(*) FROM reports").fetchone() == (0,)
    action = db.execute("SELECT action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert action == ("request.csrf_refused",)


def test_bad_input_is_shown_next_to_its_field_and_kept(client, db):
    response = file_one(
        client, kind="", region="", text="", phones="12", image=(io.BytesIO(b"%PDF-1.7"), "a.png")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Hãy chọn sự việc đã xảy ra.",
        "Hãy chọn xã/phường của bạn trong danh sách.",
        "Hãy cho biết sự việc đã xảy ra.",
        "Ảnh chụp màn hình phải là ảnh PNG, JPEG hoặc WebP.",
    ):
        assert message in page
    assert "\n12</textarea>" in page and "https://vcb-xacthuc.com/dang-nhap</textarea>" in page
    assert db.execute("SELECT count(*) FROM reports").fetchone() == (0,)


def test_a_screenshot_up_to_five_megabytes_is_accepted_above_the_apps_limit(client, db):
    big = Image.frombytes("RGB", (1200, 1200), bytes(range(256)) * (1200 * 1200 * 3 // 256 + 1))
    out = io.BytesIO()
    big.save(out, "PNG", compress_level=0)
    assert 2 * 1024 * 1024 < len(out.getvalue()) < 5 * 1024 * 1024
    response = file_one(client, image=(io.BytesIO(out.getvalue()), "big.png"))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    too_big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * (7 * 1024 * 1024))
    assert file_one(client, image=(too_big, "huge.png")).status_code == 413
    assert db.execute("SELECT count(*) FROM reports").fetchone() == (1,)


def test_a_report_is_withdrawn_with_its_code(client, db):
    page = file_one(client).get_data(as_text=True)
    code = re.search(r"BT-[A-Z0-9]{4}-[A-Z0-9]{4}", page)[0]
    form = client.get(f"/report/withdraw?code={code}").get_data(as_text=True)
    assert f'value="{code}"' in form
    response = post_form(client, "/report/withdraw", {"code": code.lower()})
    assert response.status_code == 200 and "Đã rút lại tin báo" in response.get_data(as_text=True)
    assert db.execute("SELECT status, contact_masked FROM reports").fetchone() == (
        "withdrawn",
        None,
    )
    missing = post_form(client, "/report/withdraw", {"code": "BT-2222-3333"})
    assert missing.status_code == 404
    assert "Không có tin báo nào mang mã này" in missing.get_data(as_text=True)


def test_the_portal_links_to_the_report_page(client):
    assert 'href="/report"' in client.get("/").get_data(as_text=True)
    miss = client.get("/verify/lookup?q=0911222333").get_data(as_text=True)
    assert 'href="/report"' in miss and "Báo cho Công an" in miss
    fake = client.get("/verify?q=Tin nhắn lạ không có mã").get_data(as_text=True)
    assert 'href="/report"' in fake


def test_nothing_about_a_report_is_public(client):
    file_one(client)
    for path in ("/", "/r/00070", "/verify/lookup?q=0912345678"):
        page = client.get(path).get_data(as_text=True)
        assert "vcb-xacthuc" not in page and "BT-" not in page


@pytest.mark.browser
def test_a_resident_reports_from_a_phone_and_the_page_is_accessible(page, live_server, db):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(live_server + "/report?region=00070")
    assert not Axe().run(page).violations_count, Axe().run(page).generate_report()
    page.check("input[name=kind][value=scam_call]")
    page.fill("textarea[name=text]", "Người gọi tự xưng công an phường, đòi đọc mã OTP.")
    page.fill("textarea[name=phones]", "0912 345 678")
    page.fill("textarea[name=links]", "vneid-capnhat.com")
    page.set_input_files(
        "input[name=image]", files=[{"name": "a.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.fill("input[name=contact]", "ten@example.vn")
    page.click("button[value=report]")
    code = page.inner_text("[data-testid=report-code]")
    assert re.fullmatch(r"BT-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert "Công an phường Hoàn Kiếm" in page.inner_text("[data-testid=filed]")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert db.execute("SELECT code, contact_masked FROM reports").fetchone() == (
        code,
        "t***@example.vn",
    )
    page.click("text=Rút lại tin báo này")
    page.click("button.primary")
    assert "Đã rút lại tin báo" in page.inner_text("[data-testid=withdrawn]")
