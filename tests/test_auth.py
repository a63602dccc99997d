"""Sign-in and sign-out, sessions, CSRF, throttling across processes and TOTP."""

from __future__ import annotations

import re

import pyotp

from alerts.store import audit as audit_store
from alerts.store import users as user_store
from tests.conftest import csrf_token
from tests.conftest import make_app
from tests.conftest import post_form
from tests.conftest import sign_in


def _session_token(app, client) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)["_user_id"]


def test_sign_in_shows_unit_region_and_parent(client):
    response = sign_in(client, "hoankiem.canbo")
    assert response.status_code == 302 and response.location == "/admin/"
    page = client.get("/admin/unit").get_data(as_text=True)
    assert "Công an phường Hoàn Kiếm" in page
    assert "Phường Hoàn Kiếm <code>00070</code>" in page
    assert "Công an thành phố Hà Nội" in page


def test_wrong_password_and_unknown_user_get_the_same_clear_message(client, db):
    for username in ("hoankiem.canbo", "nobody"):
        response = sign_in(client, username, "wrong password!")
        assert response.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)
    assert audit_store.count_actions(db, "signin.failed") == 2
    assert client.get("/admin/").status_code == 302


def test_session_is_renewed_at_sign_in_and_ended_at_sign_out(app, client):
    sign_in(client, "hanoi.canbo")
    first = _session_token(app, client)
    cookie_value = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    post_form(client, "/auth/logout", {}, form_page="/admin/")
    assert client.get("/admin/").status_code == 302
    sign_in(client, "hanoi.canbo")
    assert _session_token(app, client) != first
    # Replaying the old cookie after sign-out does not get back in.
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    assert replay.get("/admin/").status_code == 302


def test_session_cookie_flags(client):
    response = sign_in(client, "hanoi.canbo")
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("alerts_session=")
    )
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_post_without_csrf_token_is_refused_and_audited(client, db):
    response = client.post("/auth/login", data={"username": "bo.admin", "password": "x"})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    assert audit_store.count_actions(db, "request.csrf_refused") == 1
    assert audit_store.count_actions(db, "signin.failed") == 0


def test_empty_and_too_long_fields_get_field_messages(client):
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login", data={"csrf_token": token, "username": "", "password": "x" * 500}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Trường này là bắt buộc" in page or "bắt buộc" in page


def test_throttling_holds_across_processes(db_path, db):
    web1, web2 = make_app(db_path), make_app(db_path)
    client1, client2 = web1.test_client(), web2.test_client()
    for _ in range(5):
        assert sign_in(client1, "danang.duyet", "not the password").status_code == 401
    # A second process sharing the database refuses even the right password for now.
    refused = sign_in(client2, "danang.duyet")
    assert refused.status_code == 429
    assert "Vui lòng thử lại sau" in refused.get_data(as_text=True)
    assert audit_store.count_actions(db, "signin.throttled") == 1
    # Another account is not locked out by it.
    assert sign_in(client2, "haichau.canbo").status_code == 302


def _enable_totp(client) -> str:
    page = client.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    code = pyotp.TOTP(secret).now()
    response = post_form(client, "/account/totp", {"code": code})
    assert response.status_code == 302
    return secret


def test_totp_enrolment_then_sign_in_needs_a_fresh_code(app, db):
    client = app.test_client()
    sign_in(client, "hanoi.duyet")
    secret = _enable_totp(client)
    assert user_store.get_user_by_username(db, "hanoi.duyet").totp_enabled
    post_form(client, "/auth/logout", {}, form_page="/admin/")

    response = sign_in(client, "hanoi.duyet")
    assert response.location == "/auth/totp"
    assert client.get("/admin/").status_code == 302  # not signed in yet
    wrong = post_form(client, "/auth/totp", {"code": "000000"})
    assert wrong.status_code == 401
    # The code used at enrolment cannot be replayed.
    _secret, enrolled_step = user_store.totp_state(
        db, user_store.get_user_by_username(db, "hanoi.duyet").id
    )
    used = pyotp.TOTP(secret).at(enrolled_step * 30)
    assert post_form(client, "/auth/totp", {"code": used}).status_code == 401
    assert audit_store.count_actions(db, "signin.totp_failed") == 2


def test_totp_code_signs_in(app, db):
    client = app.test_client()
    sign_in(client, "hanoi.duyet")
    secret = _enable_totp(client)
    post_form(client, "/auth/logout", {}, form_page="/admin/")
    db.execute("UPDATE users SET totp_last_step = 0 WHERE username = 'hanoi.duyet'")
    sign_in(client, "hanoi.duyet")
    response = post_form(client, "/auth/totp", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response.location == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_provincial_approver_must_enrol_when_required(db_path):
    app = make_app(db_path, REQUIRE_TOTP="true")
    client = app.test_client()
    sign_in(client, "danang.duyet")
    response = client.get("/admin/")
    assert response.status_code == 302 and response.location == "/account/totp"
    # An officer is not forced.
    other = app.test_client()
    sign_in(other, "haichau.canbo")
    assert other.get("/admin/").status_code == 200


def test_demo_accounts_are_refused_in_production(db_path):
    app = make_app(db_path, ENV="production", SECRET_KEY="p" * 40)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    response = sign_in(client, "bo.admin")
    assert response.status_code == 401


def test_next_parameter_cannot_leave_the_site(client):
    token = csrf_token(client, "/auth/login")
    data = {"csrf_token": token, "username": "bo.canbo", "password": "demo-canhbao-2026"}
    response = client.post("/auth/login?next=//evil.example/x", data=data)
    assert response.location == "/admin/"
