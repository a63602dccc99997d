"""Work notices through the fake SMTP and Telegram servers: a staff channel set on the account
page and confirmed by the code it receives; approvers told when a warning waits and reminded
past the threshold; authors told of rejection (with the reason) and publication."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.warnings import staff_notices as notify
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.delivery_setup import add_accounts
from tests.delivery_setup import dispatch_once
from tests.delivery_setup import running_fakes
from tests.test_subscriptions import received

SETTINGS = {**CONFIG, "SECRET_KEY": "test-secret"}


@pytest.fixture
def fakes(db):
    with running_fakes() as started:
        add_accounts(db, CONFIG, started)
        # A code and a notice reach one chat within a second here; Telegram's per-chat flood
        # limit (the fake's default, tested in test_channel_telegram) is not what is tested.
        started.state.limits["telegram:chat"] = 0
        yield started


@pytest.fixture
def staff_app(db_path):
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


def send_all(db) -> None:
    """Run the worker's staff pass, then deliver what it queued to the fakes."""
    notify.notify_due(db, SETTINGS)
    dispatch_once(db)


def confirm_channel(app, db, username: str, channel: str, address: str, fakes) -> object:
    """Set a staff channel on the account page and type back the code it received."""
    client = app.test_client()
    sign_in(client, username)
    response = post_form(
        client, "/account/notices", {"channel": channel, "address": address}, "/account/"
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    send_all(db)
    code = re.search(r"\b(\d{6})\b", received(fakes, channel, address)[-1]).group(1)
    response = post_form(client, "/account/notices/confirm", {"code": code}, "/account/")
    assert response.status_code == 303
    return client


def test_a_channel_is_confirmed_by_its_code_and_audited_masked(staff_app, db, fakes):
    client = staff_app.test_client()
    sign_in(client, "hanoi.duyet")
    data = {"channel": "email", "address": "Duyet.HaNoi@Example.vn"}
    assert post_form(client, "/account/notices", data, "/account/").status_code == 303
    send_all(db)
    [mail] = received(fakes, "email", "duyet.hanoi@example.vn")
    code = re.search(r"\b(\d{6})\b", mail).group(1)
    wrong = "000000" if code != "000000" else "111111"
    response = post_form(client, "/account/notices/confirm", {"code": wrong}, "/account/")
    assert response.status_code == 422 and "Mã này sai hoặc đã hết hạn" in response.get_data(
        as_text=True
    )
    assert post_form(client, "/account/notices/confirm", {"code": code}, "/account/").status_code
    row = db.execute("SELECT verified_at, masked, sealed FROM staff_channels").fetchone()
    assert row[0] and row[1] == "d***@example.vn" and b"example.vn" not in row[2]
    audit = " ".join(r[0] for r in db.execute("SELECT detail FROM audit_log"))
    assert "duyet.hanoi@example.vn" not in audit and "d***@example.vn" in audit
    actions = [
        r[0]
        for r in db.execute("SELECT action FROM audit_log WHERE action LIKE 'staff.%' ORDER BY id")
    ]
    assert actions == ["staff.channel_set", "staff.channel_refused", "staff.channel_verified"]


def test_a_bad_address_is_refused_on_the_page(staff_app, db, fakes):
    client = staff_app.test_client()
    sign_in(client, "hanoi.duyet")
    data = {"channel": "telegram", "address": "not a chat"}
    response = post_form(client, "/account/notices", data, "/account/")
    assert response.status_code == 422
    assert db.execute("SELECT COUNT(*) FROM staff_channels").fetchone() == (0,)


def test_approvers_are_told_once_and_reminded_past_the_threshold(staff_app, db, fakes):
    confirm_channel(staff_app, db, "hanoi.duyet", "telegram", "700001", fakes)
    confirm_channel(staff_app, db, "hanoi.duyet2", "email", "duyet2@example.vn", fakes)
    alert_id = submitted(db, headline="Cảnh báo cuộc gọi giả danh điện lực")
    send_all(db)
    [told] = received(fakes, "telegram", "700001")[1:]
    assert "Cảnh báo cuộc gọi giả danh điện lực" in told and "đang chờ bạn duyệt" in told
    assert f"/admin/warnings/{alert_id}" in told
    assert "đang chờ bạn duyệt" in received(fakes, "email", "duyet2@example.vn")[-1]
    send_all(db)  # nothing new: nobody is told twice
    assert len(received(fakes, "telegram", "700001")) == 2
    notify.notify_due(db, SETTINGS, now=utcnow() + timedelta(minutes=59))
    assert db.execute("SELECT COUNT(*) FROM notices WHERE status != 'sent'").fetchone() == (0,)
    notify.notify_due(db, SETTINGS, now=utcnow() + timedelta(minutes=61))
    # Queued by a worker an hour from now: due at once when that hour has come.
    db.execute("UPDATE notices SET next_attempt_at = '2000-01-01' WHERE status = 'queued'")
    send_all(db)
    assert "đã chờ duyệt hơn 60 phút" in received(fakes, "telegram", "700001")[-1]


def test_authors_are_told_of_rejection_with_the_reason_and_of_publication(staff_app, db, fakes):
    confirm_channel(staff_app, db, "hoankiem.canbo", "telegram", "700002", fakes)
    alert_id = submitted(db)
    alert = workflow.visible(db, acting_as(db, "hanoi.duyet"), alert_id)
    workflow.reject(
        db,
        acting_as(db, "hanoi.duyet"),
        alert_id,
        reason="Thiếu số <b>điện thoại</b>",
        seen_hash=alert.content_hash,
    )
    send_all(db)
    assert (
        "Lý do: Thiếu số &lt;b&gt;điện thoại&lt;/b&gt;" in received(fakes, "telegram", "700002")[-1]
    )
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    approve(db, "hanoi.duyet", alert_id)
    send_all(db)
    texts = received(fakes, "telegram", "700002")
    assert "đã được phát hành" in texts[-1] and len(texts) == 3  # code, rejection, publication


def test_the_reminder_threshold_is_validated():
    from alerts.config import ConfigError
    from alerts.config import parse_settings

    assert parse_settings({"STAFF_REMIND_AFTER_MINUTES": "30"})["STAFF_REMIND_AFTER_MINUTES"] == 30
    for bad in ("0", "3", "20000", "soon"):
        with pytest.raises(ConfigError, match="STAFF_REMIND_AFTER_MINUTES"):
            parse_settings({"STAFF_REMIND_AFTER_MINUTES": bad})


def test_codes_are_capped_per_day(staff_app, db, fakes):
    client = staff_app.test_client()
    sign_in(client, "hanoi.duyet")
    statuses = [
        post_form(
            client, "/account/notices", {"channel": "telegram", "address": f"70000{i}"}, "/account/"
        ).status_code
        for i in range(6)
    ]
    assert statuses == [303] * 5 + [429]
    assert db.execute("SELECT COUNT(*) FROM notices").fetchone() == (5,)


def test_rotate_credentials_reseals_staff_channels_and_notices_still_arrive(staff_app, db, fakes):
    from cryptography.fernet import Fernet
    from cryptography.fernet import InvalidToken

    confirm_channel(staff_app, db, "hanoi.duyet", "email", "duyet@example.vn", fakes)
    new = Fernet.generate_key().decode()
    staff_app.config["DATA_KEY"] = f"{new},{CONFIG['DATA_KEY']}"
    result = staff_app.test_cli_runner().invoke(args=["rotate-credentials"])
    assert result.exit_code == 0 and "1 staff channel(s)" in result.output, result.output
    (sealed,) = db.execute("SELECT sealed FROM staff_channels").fetchone()
    with pytest.raises(InvalidToken):
        Fernet(CONFIG["DATA_KEY"].encode()).decrypt(sealed)  # the old key is retired
    rotated = {**CONFIG, "DATA_KEY": new}
    submitted(db, headline="Cảnh báo sau khi đổi khóa")
    notify.notify_due(db, {**rotated, "SECRET_KEY": "test-secret"})
    dispatch_once(db, rotated)
    assert "Cảnh báo sau khi đổi khóa" in received(fakes, "email", "duyet@example.vn")[-1]
    (entry,) = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'staff.channel_reseal'"
    ).fetchall()
    assert json.loads(entry[0]) == {"count": 1, "unreadable": 0}


def test_a_staff_channel_no_key_opens_is_counted_and_left_for_its_owner(staff_app, db, fakes):
    from cryptography.fernet import Fernet

    confirm_channel(staff_app, db, "hanoi.duyet", "email", "duyet@example.vn", fakes)
    lost = Fernet(Fernet.generate_key()).encrypt(b'{"address": "x@example.vn"}')
    db.execute("UPDATE staff_channels SET sealed = ?", [lost])
    result = staff_app.test_cli_runner().invoke(args=["rotate-credentials"])
    assert result.exit_code == 0, result.output
    assert "1 staff channel(s) open with no key" in result.output
    assert db.execute("SELECT sealed FROM staff_channels").fetchone() == (lost,)
