"""The warning lifecycle in the domain: every allowed and forbidden transition, with audit."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.errors import Conflict
from alerts.errors import Forbidden
from alerts.errors import Invalid
from alerts.errors import NotFound
from alerts.errors import Refused
from alerts.store import warnings as store
from alerts.warnings import workflow
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import create
from tests.builders import submitted
from tests.conftest import acting_as


def audit_actions(db, alert_id: int) -> list[tuple[str, dict]]:
    rows = db.execute(
        "SELECT action, detail FROM audit_log WHERE object = ? ORDER BY id", [f"alert:{alert_id}"]
    )
    return [(a, json.loads(d)) for a, d in rows]


def test_commune_warning_goes_draft_submitted_approved_published(db):
    alert_id = submitted(db)
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    alert = approve(db, "hanoi.duyet", alert_id)
    assert alert.status == Status.PUBLISHED and alert.code and len(alert.code) == 8
    assert alert.approved_hash == alert.content_hash
    actions = [a for a, _ in audit_actions(db, alert_id)]
    assert actions == ["alert.create", "alert.submit", "alert.approve", "alert.publish"]
    assert all(d["content_hash"] == alert.content_hash for _, d in audit_actions(db, alert_id))


def test_indicators_are_stored_normalised(db):
    alert = store.get_alert(db, create(db))
    assert alert.content.indicators.phones == ("+84912345678",)
    assert alert.content.indicators.links == ("http://vneid-capnhat.com/x",)
    keys = db.execute("SELECT kind, key FROM warning_indicators ORDER BY kind").fetchall()
    assert keys == [("link", "vneid-capnhat.com"), ("phone", "+84912345678")]


def test_nobody_approves_what_they_drafted_or_edited(db):
    alert_id = submitted(db, "hanoi.canbo", regions=["01"])
    # An approver of the same province who edited it may not approve it.
    db.execute(
        "INSERT INTO user_roles (user_id, role)"
        " SELECT id, 'officer' FROM users WHERE username = 'hanoi.duyet'"
    )
    workflow.edit(
        db, acting_as(db, "hanoi.duyet"), alert_id, {"headline": "Sửa tiêu đề"}, config=CONFIG
    )
    with pytest.raises(Forbidden, match="drafted or edited"):
        approve(db, "hanoi.duyet", alert_id)
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    # A second approver of the province may.
    assert approve(db, "hanoi.duyet2", alert_id).status == Status.PUBLISHED
    refused = [d for a, d in audit_actions(db, alert_id) if a == "alert.refused"]
    assert refused == [
        {
            "attempted": "approve",
            "reason": "You drafted or edited this warning: another approver must review it.",
            "content_hash": store.get_alert(db, alert_id).content_hash,
        }
    ]


def test_approval_goes_up_the_hierarchy(db):
    commune = submitted(db)
    # Another province's approver does not even see it.
    with pytest.raises(NotFound):
        approve(db, "danang.duyet", commune)
    ministry = submitted(db, "bo.canbo", regions=["vn"])
    with pytest.raises(NotFound):
        approve(db, "hanoi.duyet", ministry)
    assert approve(db, "bo.duyet", ministry).status == Status.PUBLISHED
    # The ministry may approve a commune's warning too (it is above every unit).
    assert approve(db, "bo.admin", commune).status == Status.PUBLISHED


def test_officer_cannot_approve_and_approval_is_bound_to_the_hash(db):
    alert_id = submitted(db)
    with pytest.raises(Forbidden):
        approve(db, "hanoi.canbo", alert_id)
    stale = store.get_alert(db, alert_id).content_hash
    workflow.edit(
        db, acting_as(db, "hoankiem.canbo"), alert_id, {"headline": "Tiêu đề mới"}, config=CONFIG
    )
    with pytest.raises(Conflict, match="changed since you opened it"):
        workflow.approve(db, acting_as(db, "hanoi.duyet"), alert_id, seen_hash=stale, config=CONFIG)
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED


def test_edit_after_approval_sends_back_to_submitted(db):
    alert_id = submitted(db, publish_at=(utcnow() + timedelta(hours=2)).isoformat())
    assert approve(db, "hanoi.duyet", alert_id).status == Status.APPROVED
    workflow.edit(
        db, acting_as(db, "hoankiem.canbo"), alert_id, {"instruction": "Gọi 113."}, config=CONFIG
    )
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.SUBMITTED and alert.approved_by is None
    # An unchanged save leaves the approval alone.
    assert approve(db, "hanoi.duyet", alert_id).status == Status.APPROVED
    workflow.edit(db, acting_as(db, "hoankiem.canbo"), alert_id, {}, config=CONFIG)
    assert store.get_alert(db, alert_id).status == Status.APPROVED


def test_scheduled_warning_publishes_when_due_and_expires(db):
    alert_id = submitted(db, publish_at=(utcnow() + timedelta(hours=2)).isoformat())
    approve(db, "hanoi.duyet", alert_id)
    assert workflow.publish_due(db, CONFIG) == []
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=3)) == [alert_id]
    assert workflow.expire_due(db, utcnow() + timedelta(days=8)) == [alert_id]
    assert store.get_alert(db, alert_id).status == Status.EXPIRED


def test_reject_then_edit_and_resubmit(db):
    alert_id = submitted(db)
    alert = store.get_alert(db, alert_id)
    with pytest.raises(Refused, match="Give a reason"):
        workflow.reject(
            db, acting_as(db, "hanoi.duyet"), alert_id, reason=" ", seen_hash=alert.content_hash
        )
    workflow.reject(
        db,
        acting_as(db, "hanoi.duyet"),
        alert_id,
        reason="Thiếu số điện thoại",
        seen_hash=alert.content_hash,
    )
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.REJECTED and alert.reject_reason == "Thiếu số điện thoại"
    workflow.edit(
        db, acting_as(db, "hoankiem.canbo"), alert_id, {"headline": "Tiêu đề đã sửa"}, config=CONFIG
    )
    assert store.get_alert(db, alert_id).status == Status.DRAFT
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    assert approve(db, "hanoi.duyet", alert_id).status == Status.PUBLISHED


def test_withdraw_only_before_approval(db):
    alert_id = submitted(db)
    workflow.withdraw(db, acting_as(db, "hoankiem.canbo"), alert_id)
    assert store.get_alert(db, alert_id).status == Status.WITHDRAWN
    with pytest.raises(Conflict, match="Only a draft or a rejected warning"):
        workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    published = submitted(db)
    approve(db, "hanoi.duyet", published)
    with pytest.raises(Conflict):
        workflow.withdraw(db, acting_as(db, "hoankiem.canbo"), published)


def test_update_creates_a_revision_that_supersedes_on_publication(db):
    first = submitted(db)
    approve(db, "hanoi.duyet", first)
    second = workflow.start_update(
        db,
        acting_as(db, "hoankiem.canbo"),
        first,
        {"headline": "Cập nhật: thêm số điện thoại"},
        config=CONFIG,
    )
    revision = store.get_alert(db, second)
    assert (revision.msg_type, revision.references_id, revision.revision) == ("Update", first, 2)
    assert revision.status == Status.DRAFT
    with pytest.raises(Conflict, match="already in progress"):
        workflow.start_update(db, acting_as(db, "hoankiem.canbo"), first, config=CONFIG)
    with pytest.raises(Refused, match="keeps the mode"):
        workflow.edit(
            db, acting_as(db, "hoankiem.canbo"), second, {"mode": "Exercise"}, config=CONFIG
        )
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), second, config=CONFIG)
    approve(db, "hanoi.duyet", second)
    assert store.get_alert(db, first).superseded_by == second
    assert store.get_alert(db, second).status == Status.PUBLISHED


def test_cancel_is_one_step_for_approvers_of_the_issuing_unit_or_above(db):
    alert_id = submitted(db)
    approve(db, "hanoi.duyet", alert_id)
    pending = workflow.start_update(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    with pytest.raises(Forbidden):
        workflow.cancel(db, acting_as(db, "hoankiem.canbo"), alert_id, reason="Sai", config=CONFIG)
    with pytest.raises(NotFound):
        workflow.cancel(db, acting_as(db, "danang.duyet"), alert_id, reason="Sai", config=CONFIG)
    # The approver who approved it may cancel it alone, at once.
    workflow.cancel(
        db, acting_as(db, "hanoi.duyet"), alert_id, reason="Tin sai, đã xác minh lại", config=CONFIG
    )
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.CANCELLED and alert.cancel_reason == "Tin sai, đã xác minh lại"
    assert store.get_alert(db, pending).status == Status.WITHDRAWN
    cancel = [d for a, d in audit_actions(db, alert_id) if a == "alert.cancel"][0]
    assert cancel["issuing_unit"] == "ca-00070" and cancel["was"] == "published"
    with pytest.raises(Conflict):
        workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert_id, reason="again", config=CONFIG)


def test_exercise_mode_is_kept_and_not_live(db):
    alert_id = submitted(db, mode="Exercise")
    alert = approve(db, "hanoi.duyet", alert_id)
    assert alert.content.mode == "Exercise" and not alert.content.is_live


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"headline": ""}, "headline", "This field is required."),
        ({"headline": "x" * 161}, "headline", "At most 160 characters (now 161)."),
        ({"regions": ["01"]}, "regions", "Region 01 is outside your jurisdiction."),
        ({"regions": ["99999"]}, "regions", "Unknown region code: 99999"),
        ({"regions": []}, "regions", "Choose at least one region."),
        (
            {"link": "https://evil.example.com/a"},
            "link",
            "Links may only point to official domains",
        ),
        ({"link": "https://gov.vn@evil.com/"}, "link", "Enter a full https:// link."),
        ({"expires_at": utcnow().isoformat()}, "expires_at", "must come after the publish time"),
        ({"expires_at": "2026-13-01T00:00"}, "expires_at", "Not a date and time"),
        ({"expires_at": "2099-01-01T00:00:00"}, "expires_at", "Give the UTC offset"),
        ({"indicators": {"phones": ["12345"]}}, "phones", "Not a valid phone number: 12345"),
        ({"indicators": {"accounts": ["Vietcombank 12"]}}, "accounts", "Not a bank account"),
        ({"indicators": {"links": ["not a link"]}}, "links", "Not a web link"),
        ({"channels": ["fax"]}, "channels", "Unknown channel: fax"),
        ({"severity": "Unknown"}, "severity", "Choose one of"),
        ({"mode": "Live"}, "mode", "Choose one of"),
    ],
)
def test_bad_input_is_refused_precisely_and_stores_nothing(db, changes, field, message):
    with pytest.raises(Invalid) as caught:
        create(db, **changes)
    assert any(p.field == field and message in str(p) for p in caught.value.problems), (
        caught.value.problems
    )
    assert db.execute("SELECT COUNT(*) FROM warnings").fetchone()[0] == 0


def test_regions_are_folded_and_ordered(db):
    alert_id = create(db, "hanoi.canbo", regions=["00070", "01", "00070"])
    assert store.get_alert(db, alert_id).content.regions == ("01",)
    alert_id = create(db, "bo.canbo", regions=["00070", "48", "01"])
    assert store.get_alert(db, alert_id).content.regions == ("01", "48")
    alert_id = create(db, "bo.canbo", regions=["vn", "48"])
    assert store.get_alert(db, alert_id).content.regions == ("vn",)


def test_text_is_stored_nfc_without_invisible_characters(db):
    nfd = "Ca\u0309nh ba\u0301o\u202e lu\u031bu y\u0301"
    alert = store.get_alert(db, create(db, headline=nfd))
    assert alert.content.headline == "Cảnh báo lưu ý"


def test_template_blanks_must_be_filled_before_submission(db):
    alert_id = create(db, description="Đối tượng gọi từ số [số điện thoại] tới vneid[.]com")
    with pytest.raises(Refused, match=r"blanks first: \[số điện thoại\]$"):
        workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    assert store.get_alert(db, alert_id).status == Status.DRAFT
