"""What is approved is what is stored, signed and sent: the content hash is recomputed from
the stored content at approval, at publication and when the worker renders, and a warning
edited in the database behind the application's back is marked and never sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.errors import Conflict
from alerts.store import warnings as store
from alerts.warnings import workflow
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import sign_in

LATER = {"publish_at": (utcnow() + timedelta(hours=1)).isoformat()}


def tamper(db, alert_id: int, **changes) -> None:
    """Edit a revision's stored content directly, as someone with database access could."""
    raw = db.execute("SELECT content FROM warnings WHERE id = ?", [alert_id]).fetchone()[0]
    content = {**json.loads(raw), **changes}
    db.execute(
        "UPDATE warnings SET content = ? WHERE id = ?",
        [json.dumps(content, ensure_ascii=False), alert_id],
    )


def security_events(db, alert_id: int) -> list[dict]:
    rows = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'security.integrity_failure'"
        " AND object = ? ORDER BY id",
        [f"alert:{alert_id}"],
    )
    return [json.loads(r[0]) for r in rows]


def test_content_edited_after_approval_is_never_published(db):
    alert_id = submitted(db, **LATER)
    approve(db, "hanoi.duyet", alert_id)
    tamper(db, alert_id, description="Chuyển tiền ngay vào tài khoản 0123456789 để được bảo vệ.")
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=2)) == []
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.APPROVED and alert.code is None
    assert alert.integrity_failure.startswith("publication:")
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM signatures").fetchone()[0] == 0
    [event] = security_events(db, alert_id)
    assert event["step"] == "publication" and event["recomputed_hash"] != event["approved_hash"]
    # Later ticks neither publish it nor fill the log with the same event.
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=3)) == []
    assert len(security_events(db, alert_id)) == 1


def test_content_edited_before_approval_is_refused_at_approval(db):
    alert_id = submitted(db, **LATER)
    seen = store.get_alert(db, alert_id).content_hash
    tamper(db, alert_id, headline="Cảnh báo đã bị sửa trong cơ sở dữ liệu")
    with pytest.raises(Conflict, match="changed outside the application"):
        workflow.approve(db, acting_as(db, "hanoi.duyet"), alert_id, seen_hash=seen, config=CONFIG)
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.SUBMITTED and alert.approved_by is None
    assert alert.integrity_failure.startswith("approval:")
    assert security_events(db, alert_id)[0]["step"] == "approval"


def test_targets_changed_in_the_database_are_an_integrity_failure(db):
    alert_id = submitted(db, **LATER)
    approve(db, "hanoi.duyet", alert_id)
    db.execute("UPDATE warning_regions SET region_code = '01' WHERE warning_id = ?", [alert_id])
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=2)) == []
    assert "regions or indicators" in store.get_alert(db, alert_id).integrity_failure


def test_an_intact_warning_still_publishes(db):
    alert_id = submitted(db, **LATER)
    approve(db, "hanoi.duyet", alert_id)
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=2)) == [alert_id]
    assert store.get_alert(db, alert_id).integrity_failure is None


def test_the_failure_shows_on_the_warning_page_and_in_healthz(app, client, db):
    alert_id = submitted(db, **LATER)
    approve(db, "hanoi.duyet", alert_id)
    assert client.get("/healthz").get_json()["integrity_failures"] == []
    tamper(db, alert_id, instruction="Gọi ngay số 0999 999 999 để được hỗ trợ.")
    workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=2))
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "integrity failure"
    assert health.get_json()["integrity_failures"] == [alert_id]
    sign_in(client, "hanoi.duyet")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert 'id="integrity-failure"' in page
