"""Every route declares who may open it, and pages behave for each kind of visitor."""

from __future__ import annotations

from tests.conftest import post_form
from tests.conftest import sign_in


def test_every_route_has_an_access_mark(app):
    unmarked = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not hasattr(app.view_functions[rule.endpoint], "access")
    ]
    assert unmarked == []


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/admin/", "/admin/users", "/account/", "/admin/units/ca-01"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/auth/login")


def test_vietnamese_by_default_english_on_request(client):
    assert "Đăng nhập" in client.get("/auth/login").get_data(as_text=True)
    response = post_form(
        client, "/lang", {"lang": "en", "next": "/auth/login"}, form_page="/auth/login"
    )
    assert response.location == "/auth/login"
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Staff sign-in" in page and '<html lang="en">' in page


def test_audit_page_shows_times_in_vietnam(client):
    sign_in(client, "bo.admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "signin.ok" in page


def test_security_headers(client):
    response = client.get("/auth/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_unit_page_search_and_paging(client):
    sign_in(client, "bo.canbo")
    page = client.get("/admin/unit?q=ha noi").get_data(as_text=True)
    assert "Công an thành phố Hà Nội" in page and "Công an tỉnh Cao Bằng" not in page
    hanoi = client.get("/admin/units/ca-01?page=2").get_data(as_text=True)
    assert "Trang 2" in hanoi or "Page 2" in hanoi
    assert client.get("/admin/units/ca-01?page=-3").status_code == 200


def test_healthz(client):
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["journal_mode"] == "wal" and body["schema_version"] == 23
