"""Each person's work notices in their own language, through the fake Telegram server: the
one chosen on the account page, else the one last picked in the UI's switch, else the
default (Vietnamese); their dates dd/mm/yyyy in Vietnamese and with the month's name in
English, in Vietnam's time."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timedelta

from alerts.clock import utcnow
from alerts.staff import languages
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import VN
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.test_staff_notice_recipients import on_telegram
from tests.test_staff_notify import confirm_channel
from tests.test_staff_notify import fakes  # noqa: F401 (a fixture)
from tests.test_staff_notify import send_all
from tests.test_staff_notify import staff_app  # noqa: F401 (a fixture)
from tests.test_subscriptions import received


def _languages(db, username: str) -> tuple:
    return db.execute(
        "SELECT language, ui_language FROM users WHERE username = ?", [username]
    ).fetchone()


def test_the_notices_follow_the_account_page_then_the_switch(staff_app, db, fakes):  # noqa: F811
    chosen = staff_app.test_client()
    sign_in(chosen, "hanoi.duyet")
    response = post_form(chosen, "/account/language", {"language": "en"}, "/account/")
    assert response.status_code == 303
    assert _languages(db, "hanoi.duyet") == ("en", None)
    page = chosen.get("/account/").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="language"[^>]*value="en"', page)
    # The code confirming the channel comes in English already.
    confirm_channel(staff_app, db, "hanoi.duyet", "telegram", "740001", fakes)
    assert "Confirmation code for your work notices" in received(fakes, "telegram", "740001")[0]
    switched = staff_app.test_client()
    sign_in(switched, "hanoi.duyet2")
    response = post_form(switched, "/lang", {"lang": "en", "next": "/admin/"}, "/account/")
    assert response.status_code == 302
    assert _languages(db, "hanoi.duyet2") == (None, "en")
    on_telegram(db, {"hanoi.duyet2": "740002"})
    submitted(db, headline="Cảnh báo giả danh điện lực")
    send_all(db)
    for chat in ("740001", "740002"):
        assert "“Cảnh báo giả danh điện lực” of" in received(fakes, "telegram", chat)[-1]
        assert "waits for your approval" in received(fakes, "telegram", chat)[-1]
    # The account page's choice wins over the switch.
    assert post_form(switched, "/account/language", {"language": "vi"}, "/account/").status_code
    submitted(db, headline="Cảnh báo tin nhắn giả ngân hàng")
    send_all(db)
    assert "đang chờ bạn duyệt" in received(fakes, "telegram", "740002")[-1]
    audit = db.execute(
        "SELECT json_extract(detail, '$.language') FROM audit_log"
        " WHERE action = 'account.language' ORDER BY id"
    )
    assert [row[0] for row in audit] == ["en", "vi"]


def test_a_language_we_do_not_write_is_refused(staff_app, db):  # noqa: F811
    client = staff_app.test_client()
    sign_in(client, "hanoi.duyet")
    response = post_form(client, "/account/language", {"language": "fr"}, "/account/")
    assert response.status_code == 422
    assert _languages(db, "hanoi.duyet") == (None, None)


def test_dates_are_dd_mm_yyyy_in_vietnamese_and_spelled_out_in_english(db, fakes):  # noqa: F811
    on_telegram(db, {"hoankiem.canbo": "750001"})
    publish = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)
    alert_id = submitted(db, publish_at=publish.isoformat())
    approve(db, "hanoi.duyet", alert_id)
    send_all(db)
    local = publish.astimezone(VN)
    assert f"lúc {local:%H:%M %d/%m/%Y}." in received(fakes, "telegram", "750001")[-1]
    author = acting_as(db, "hoankiem.canbo")
    languages.choose(db, author, "en")
    assert languages.of_user(db, author.user.id, CONFIG) == "en"
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="Trùng", config=CONFIG)
    send_all(db)
    (row,) = db.execute("SELECT cancelled_at FROM warnings WHERE id = ?", [alert_id])
    when = datetime.fromisoformat(row[0]).astimezone(VN)
    text = received(fakes, "telegram", "750001")[-1]
    assert f"was cancelled at {when.day} {when:%b %Y, %H:%M}. Reason: Trùng" in text


def test_the_language_picked_before_signing_in_is_kept_at_sign_in(staff_app, db):  # noqa: F811
    client = staff_app.test_client()
    client.set_cookie("lang", "en")
    assert sign_in(client, "hanoi.duyet").status_code == 302
    assert _languages(db, "hanoi.duyet") == (None, "en")
