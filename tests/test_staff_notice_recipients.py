"""Who the work notices tell, through the fake Telegram server: the nearest of those the
workflow lets review a warning at first (its province, a second approver of a province),
all of them with the reminder (the ministry too), and nobody it would refuse; a
cancellation or an update told to the author and the approver of the revision, not to who
did it, once even when the worker runs again."""

from __future__ import annotations

from datetime import timedelta

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.security import vault
from alerts.staff import users as staff
from alerts.store import staff_channels
from alerts.store import users as user_store
from alerts.store import warnings as warning_store
from alerts.warnings import staff_notices
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import published
from tests.builders import submitted
from tests.conftest import OWN_PASSWORD
from tests.conftest import acting_as
from tests.delivery_setup import add_accounts
from tests.test_staff_notify import SETTINGS
from tests.test_staff_notify import fakes  # noqa: F401 (a fixture)
from tests.test_staff_notify import send_all
from tests.test_subscriptions import received


def on_telegram(db, chats: dict[str, str]) -> None:
    """Give each user a confirmed Telegram chat, as the account page leaves it."""
    now = to_text(utcnow())
    for username, chat in chats.items():
        user = user_store.get_user_by_username(db, username)
        sealed = vault.seal(SETTINGS, {"address": chat})
        staff_channels.set_pending(
            db,
            user.id,
            channel="telegram",
            sealed=sealed,
            masked="***",
            code_hash="spent",
            expires_at=now,
            codes=(1, now),
            now=now,
        )
        staff_channels.mark_verified(db, user.id, now)


def told(fakes, chats: dict[str, str], words: str) -> set[str]:  # noqa: F811
    """Return the users whose chat received a text with these words."""
    return {
        u for u, chat in chats.items() if any(words in t for t in received(fakes, "telegram", chat))
    }


def test_everyone_the_workflow_lets_review_is_told_and_nobody_else(db, fakes):  # noqa: F811
    add_accounts(db, CONFIG, fakes, unit="bca")  # the ministry's approvers' bot
    # Both officer and approver of Hà Nội, created by the ministry's admin: a writer of what
    # it drafts, and an account bo.admin could have written through.
    staff.create_user(
        db,
        acting_as(db, "bo.admin"),
        username="hanoi.kiemtra",
        full_name="Kiểm Tra",
        unit_code="ca-01",
        roles=["officer", "approver"],
        password=OWN_PASSWORD,
    )
    chats = {
        name: f"7100{i}"
        for i, name in enumerate(
            ["hanoi.duyet", "hanoi.duyet2", "bo.duyet", "bo.admin", "danang.duyet", "hanoi.kiemtra"]
        )
    }
    on_telegram(db, chats)
    alert_id = submitted(db, "hanoi.kiemtra", regions=["01"])
    send_all(db)
    # First the province's other approvers; the ministry with the reminder.
    assert told(fakes, chats, "đang chờ bạn duyệt") == {"hanoi.duyet", "hanoi.duyet2"}
    staff_notices.notify_due(db, SETTINGS, now=utcnow() + timedelta(minutes=61))
    db.execute("UPDATE notices SET next_attempt_at = '2000-01-01' WHERE status = 'queued'")
    send_all(db)
    expected = {"hanoi.duyet", "hanoi.duyet2", "bo.duyet"}
    assert told(fakes, chats, "đã chờ duyệt hơn") == expected
    # The same rule as the approval's own check: exactly those may approve it.
    alert = warning_store.get_alert(db, alert_id)
    may = {u for u in chats if "approve" in workflow.allowed_actions(db, acting_as(db, u), alert)}
    assert may == expected
    reviewers = set(workflow.reviewers(db, alert))
    assert reviewers == {user_store.get_user_by_username(db, u).id for u in expected}


def test_a_cancellation_is_told_to_author_and_approver_with_the_reason_once(db, fakes):  # noqa: F811
    add_accounts(db, CONFIG, fakes, unit="bca")
    chats = {"hoankiem.canbo": "720001", "hanoi.duyet": "720002", "bo.duyet": "720003"}
    on_telegram(db, chats)
    alert = published(db)
    send_all(db)
    workflow.cancel(
        db, acting_as(db, "bo.duyet"), alert.id, reason="Thông tin <i>sai</i>", config=CONFIG
    )
    send_all(db)
    assert told(fakes, chats, "đã bị hủy") == {"hoankiem.canbo", "hanoi.duyet"}
    last = received(fakes, "telegram", "720002")[-1]
    assert (
        "Lý do: Thông tin &lt;i&gt;sai&lt;/i&gt;" in last and f"/admin/warnings/{alert.id}" in last
    )
    count = db.execute("SELECT COUNT(*) FROM notices WHERE kind = 'staff'").fetchone()
    # The worker starts again: the cancellation was recorded as told with its notices.
    assert staff_notices.notify_due(db, SETTINGS) == 0
    assert db.execute("SELECT COUNT(*) FROM notices WHERE kind = 'staff'").fetchone() == count
    assert db.execute(
        "SELECT COUNT(*) FROM staff_notified WHERE warning_id = ? AND event = 'cancelled'",
        [alert.id],
    ).fetchone() == (1,)


def test_an_update_is_told_to_the_approver_of_the_revision_it_replaces(db, fakes):  # noqa: F811
    chats = {"hoankiem.canbo": "730001", "hanoi.duyet": "730002", "hanoi.duyet2": "730003"}
    on_telegram(db, chats)
    first = published(db)
    officer = acting_as(db, "hoankiem.canbo")
    update = workflow.start_update(
        db, officer, first.id, {"headline": "Cập nhật: cuộc gọi giả danh công an"}, config=CONFIG
    )
    workflow.submit(db, officer, update, config=CONFIG)
    approve(db, "hanoi.duyet2", update)
    assert warning_store.get_alert(db, first.id).superseded_by == update
    send_all(db)
    # The author wrote the update and hanoi.duyet2 approved it: only hanoi.duyet is told.
    assert told(fakes, chats, "bản cập nhật") == {"hanoi.duyet"}
    assert f"/admin/warnings/{first.id}" in received(fakes, "telegram", "730002")[-1]
