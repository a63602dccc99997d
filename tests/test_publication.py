"""Publication: every published message is signed (never unsigned), cancellations too, the
approver previews every channel, and a warning no channel can carry is refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.errors import Refused
from alerts.store import signatures as signature_store
from alerts.store import warnings as store
from alerts.warnings import signatures as signing
from alerts.warnings import workflow
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import create
from tests.builders import submitted
from tests.builders import ui_approve
from tests.conftest import acting_as
from tests.conftest import sign_in

PUBLIC_KEY = signing.Signer.from_seed(CONFIG["SIGNING_KEY"]).public_key_b64


def test_publication_is_signed_and_verifiable(db):
    alert = approve(db, "hanoi.duyet", submitted(db))
    stored = signature_store.get_signature(db, alert.id, "Alert")
    assert signing.verify(PUBLIC_KEY, stored.payload, stored.signature)
    payload = json.loads(stored.payload)
    assert payload["code"] == alert.code and payload["regions"] == ["00070"]
    assert payload["content"]["headline"] == alert.content.headline
    one_byte = bytearray(stored.payload)
    one_byte[-2] ^= 1
    assert not signing.verify(PUBLIC_KEY, bytes(one_byte), stored.signature)


@pytest.mark.parametrize("key", ["", "not base64!", "c2hvcnQ="])
def test_publication_is_refused_when_signing_fails(db, key):
    production = {**CONFIG, "ENV": "production", "SIGNING_KEY": key}
    alert_id = submitted(db)
    alert = store.get_alert(db, alert_id)
    workflow.approve(
        db, acting_as(db, "hanoi.duyet"), alert_id, seen_hash=alert.content_hash, config=production
    )
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.APPROVED and alert.code is None
    assert signature_store.get_signature(db, alert_id, "Alert") is None
    refused = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'alert.publish_refused' AND object = ?",
        [f"alert:{alert_id}"],
    ).fetchone()
    assert "SIGNING_KEY" in json.loads(refused[0])["reason"]
    # Once the key is there, the next run publishes it, signed.
    assert workflow.publish_due(db, CONFIG) == [alert_id]
    assert signature_store.get_signature(db, alert_id, "Alert") is not None


def test_cancellation_of_a_published_warning_is_signed(db):
    alert = approve(db, "hanoi.duyet", submitted(db))
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert.id, reason="Tin sai", config=CONFIG)
    stored = signature_store.get_signature(db, alert.id, "Cancel")
    payload = json.loads(stored.payload)
    assert payload["msg_type"] == "Cancel" and payload["cancel_reason"] == "Tin sai"
    assert payload["identifier"].endswith(".cancel")
    assert signing.verify(PUBLIC_KEY, stored.payload, stored.signature)


def test_signatures_cannot_be_changed(db):
    alert = approve(db, "hanoi.duyet", submitted(db))
    with pytest.raises(Exception, match="never changed"):
        db.execute("UPDATE signatures SET signature = 'x' WHERE warning_id = ?", [alert.id])


def test_a_warning_no_channel_can_carry_is_refused_at_submission(db):
    tight = {**CONFIG, "SMS_MAX_SEGMENTS": 1, "PUBLIC_URL": "https://" + "a" * 150 + ".gov.vn"}
    alert_id = create(db)
    with pytest.raises(Refused, match="Too long for SMS") as caught:
        workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=tight)
    assert caught.value.status == 422
    assert store.get_alert(db, alert_id).status == Status.DRAFT
    # Without SMS the same warning goes through.
    workflow.edit(
        db, acting_as(db, "hoankiem.canbo"), alert_id, {"channels": ["zalo"]}, config=tight
    )
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=tight)


def test_update_is_published_with_references_to_the_revision_it_replaces(db, client, auth):
    first = approve(db, "hanoi.duyet", submitted(db))
    second = workflow.start_update(
        db, acting_as(db, "hoankiem.canbo"), first.id, {"headline": "Cập nhật"}, config=CONFIG
    )
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), second, config=CONFIG)
    published = approve(db, "hanoi.duyet", second)
    payload = json.loads(signature_store.get_signature(db, second, "Update").payload)
    (reference,) = payload["references"]
    assert reference["identifier"].endswith(f":{first.series_id}.1")
    preview = client.get(f"/api/v1/alerts/{second}/preview", headers=auth("hoankiem.canbo")).json
    cap = preview["channels"]["cap"]["parts"]["xml"]
    assert "<msgType>Update</msgType>" in cap and f".{published.revision}</identifier>" in cap
    assert f":{first.series_id}.1," in cap  # references: sender,identifier,sent


def test_preview_shows_every_channel_with_counts(client, db, auth):
    alert_id = create(db, publish_at=(utcnow() + timedelta(hours=1)).isoformat())
    response = client.get(f"/api/v1/alerts/{alert_id}/preview", headers=auth("hoankiem.canbo"))
    channels = response.json["channels"]
    assert list(channels) == ["web", "cap", "atom", "zalo", "sms"]
    sms = channels["sms"]
    assert sms["error"] is None and "XXXX-XXXX" in sms["parts"]["text"]
    assert sms["counts"]["encoding"] == "GSM-7" and sms["counts"]["segments"] <= 2
    other = client.get(f"/api/v1/alerts/{alert_id}/preview", headers=auth("danang.duyet"))
    assert other.status_code == 404


def test_the_approval_page_shows_each_channel_as_it_will_look(client, db):
    alert_id = submitted(db)
    sign_in(client, "hanoi.duyet")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert 'class="bubble sms"' in page and 'class="bubble zalo"' in page
    assert "XXXX-XXXX" in page and "Tài liệu CAP 1.2" in page
    assert 'sandbox title="Web"' in page and "số tin SMS" in page


def test_the_warning_page_shows_the_signature_checked(client, db):
    alert_id = submitted(db)
    sign_in(client, "hanoi.duyet")
    assert ui_approve(client, db, alert_id).status_code == 303
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert "Chữ ký số (Alert)" in page and "hợp lệ" in page
