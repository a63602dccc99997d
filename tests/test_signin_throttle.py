"""Sign-in throttling cannot lock staff out: delays are per (account, address) and per address.

Seen (issue 12): five wrong passwords from one address made the owner's right password from
another address wait. The attacker's address must still be slowed down, and from it only the
right password plus a valid second factor gets through.
"""

from __future__ import annotations

import re

import pyotp

from tests.conftest import post_form
from tests.conftest import sign_in

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _hammer(app, username: str, times: int = 8) -> None:
    attacker = _client(app, ATTACKER)
    for _ in range(times):
        assert sign_in(attacker, username, "not the password").status_code in (401, 429)


def _enable_totp(app, username: str) -> str:
    client = _client(app, OWNER)
    sign_in(client, username)
    page = client.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert post_form(client, "/account/totp", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    return secret


def _fresh_code(db, secret: str, username: str) -> str:
    # The enrolment code was claimed; let the current step be used once more.
    db.execute("UPDATE users SET totp_last_step = 0 WHERE username = ?", [username])
    return pyotp.TOTP(secret).now()


def test_owner_signs_in_at_once_from_another_address(app):
    _hammer(app, "danang.duyet")
    owner = _client(app, OWNER)
    response = sign_in(owner, "danang.duyet")
    assert response.status_code == 302 and response.location == "/admin/"


def test_owner_with_totp_signs_in_at_once_from_another_address(app, db):
    secret = _enable_totp(app, "hanoi.duyet")
    _hammer(app, "hanoi.duyet")
    owner = _client(app, OWNER)
    assert sign_in(owner, "hanoi.duyet").location == "/auth/totp"
    code = _fresh_code(db, secret, "hanoi.duyet")
    response = post_form(owner, "/auth/totp", {"code": code})
    assert response.status_code == 302 and response.location == "/admin/"


def test_attacker_address_is_still_delayed_even_with_the_right_password(app):
    _hammer(app, "danang.duyet")
    attacker = _client(app, ATTACKER)
    refused = sign_in(attacker, "danang.duyet")
    assert refused.status_code == 429
    assert "Vui lòng thử lại sau" in refused.get_data(as_text=True)


def test_an_address_spraying_many_accounts_is_delayed(app):
    attacker = _client(app, ATTACKER)
    limit = app.config["SIGNIN_IP_MAX_FAILURES"]
    for n in range(limit):
        assert sign_in(attacker, f"nobody{n}", "not the password").status_code == 401
    assert sign_in(attacker, "haichau.canbo").status_code == 429
    assert sign_in(_client(app, OWNER), "haichau.canbo").status_code == 302


def test_right_password_and_valid_code_get_past_the_delay_from_the_same_address(app, db):
    secret = _enable_totp(app, "hanoi.duyet")
    _hammer(app, "hanoi.duyet")
    attacker = _client(app, ATTACKER)
    # The right password alone, or with a wrong code, is still delayed ...
    assert sign_in(attacker, "hanoi.duyet").status_code == 429
    page = sign_in(attacker, "hanoi.duyet", code="000000")
    assert page.status_code == 429
    assert 'name="code"' in page.get_data(as_text=True)
    # ... and a wrong password with a valid code too.
    code = _fresh_code(db, secret, "hanoi.duyet")
    assert sign_in(attacker, "hanoi.duyet", "not the password", code=code).status_code == 429
    response = sign_in(attacker, "hanoi.duyet", code=code)
    assert response.status_code == 302 and response.location == "/admin/"


def test_codes_guessed_past_the_delay_are_capped_per_account(app, db):
    secret = _enable_totp(app, "hanoi.duyet")
    _hammer(app, "hanoi.duyet")
    attacker = _client(app, ATTACKER)
    for _ in range(app.config["SIGNIN_MAX_FAILURES"]):
        assert sign_in(attacker, "hanoi.duyet", code="000000").status_code == 429
    code = _fresh_code(db, secret, "hanoi.duyet")
    assert sign_in(attacker, "hanoi.duyet", code=code).status_code == 429
