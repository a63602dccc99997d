"""Refutations (issue 16): a warning of type "fake_news" quotes the claim going around and
its links, and that quote is part of the approved content: changed after approval it is an
integrity failure, and nothing goes out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.clock import utcnow
from alerts.errors import Invalid
from alerts.store import warnings as store
from alerts.warnings import diff
from alerts.warnings import workflow
from alerts.warnings.content import content_hash
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import api_create
from tests.builders import approve
from tests.builders import create
from tests.builders import draft
from tests.builders import submitted
from tests.builders import ui_draft
from tests.builders import ui_form
from tests.conftest import csrf_token
from tests.conftest import sign_in
from tests.test_integrity import security_events
from tests.test_integrity import tamper

CLAIM = "Từ 15/12 ai chưa cập nhật VNeID mức 2 sẽ bị khóa tài khoản ngân hàng!"
LATER = {"publish_at": (utcnow() + timedelta(hours=1)).isoformat()}


def refutation(**changes) -> dict:
    """What a refutation adds to a submission, as the API takes it."""
    return {
        "warning_type": "fake_news",
        "refutation": {"claim": CLAIM, "links": ["hxxp://vneid-capnhat[.]com/cap-nhat"]},
        "indicators": {},
        **changes,
    }


def test_the_claim_is_stored_with_its_links_normalised(db):
    alert = store.get_alert(db, create(db, **refutation()))
    assert alert.content.refutation.claim == CLAIM
    assert alert.content.refutation.links == ("http://vneid-capnhat.com/cap-nhat",)


def test_a_refutation_needs_its_claim_and_refuses_what_is_not_a_link(db):
    bad = refutation(refutation={"claim": "", "links": ["not a link at all"]})
    with pytest.raises(Invalid) as raised:
        create(db, **bad)
    assert {p.field for p in raised.value.problems} >= {"claim", "claim_links"}


def test_other_warnings_carry_no_claim_and_keep_the_hash_they_had(db):
    alert = store.get_alert(db, create(db, refutation={"claim": CLAIM}))
    assert alert.content.refutation is None
    assert "refutation" not in alert.content.as_dict()


def test_the_claim_is_part_of_the_hash(db):
    alert = store.get_alert(db, create(db, **refutation()))
    changed = replace(
        alert.content, refutation=replace(alert.content.refutation, claim=CLAIM + " (sửa)")
    )
    assert content_hash(changed, "Alert", None) != alert.content_hash


def test_changing_the_claim_after_approval_is_an_integrity_failure(db):
    alert_id = submitted(db, **refutation(**LATER))
    approve(db, "hanoi.duyet", alert_id)
    tamper(db, alert_id, refutation={"claim": "Tin này là thật, hãy cập nhật ngay.", "links": []})
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=2)) == []
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.APPROVED and alert.code is None
    assert alert.integrity_failure.startswith("publication:")
    assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    assert security_events(db, alert_id)[0]["step"] == "publication"


def test_an_intact_refutation_publishes_signed(db):
    alert_id = submitted(db, **refutation(**LATER))
    approve(db, "hanoi.duyet", alert_id)
    assert workflow.publish_due(db, CONFIG, utcnow() + timedelta(hours=2)) == [alert_id]
    signed = db.execute("SELECT count(*) FROM signatures WHERE warning_id = ?", [alert_id])
    assert signed.fetchone()[0] == 1


def test_the_form_drafts_a_refutation_and_shows_its_fields_again(client, db):
    alert_id = ui_draft(
        client,
        warning_type="fake_news",
        phones="",
        accounts="",
        links="",
        claim=CLAIM,
        claim_links="vneid-capnhat.com/cap-nhat\nhxxps://tin-gia[.]net/a",
    )
    found = store.get_alert(db, alert_id).content.refutation
    assert found.claim == CLAIM
    assert found.links == ("http://vneid-capnhat.com/cap-nhat", "https://tin-gia.net/a")
    page = client.get(f"/admin/warnings/{alert_id}/edit").get_data(as_text=True)
    assert 'data-type="fake_news"' in page and "tin-gia.net/a" in page
    assert CLAIM in page
    shown = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert CLAIM in shown and "vneid-capnhat[.]com/cap-nhat" in shown


def test_the_reviewer_sees_a_changed_claim_word_by_word(db):
    alert = store.get_alert(db, create(db, **refutation()))
    edited = replace(
        alert.content, refutation=replace(alert.content.refutation, claim=CLAIM + " Chia sẻ!")
    )
    (change,) = diff.changes(alert.content, edited)
    assert change.field == "claim" and change.segments[-1] == ("insert", " Chia sẻ!")


def test_the_form_says_what_is_missing_beside_the_claim(client, db):
    sign_in(client, "hoankiem.canbo")
    data = {"csrf_token": csrf_token(client, "/admin/warnings/new")}
    response = client.post(
        "/admin/warnings/new", data={**ui_form(warning_type="fake_news", claim=""), **data}
    )
    assert response.status_code == 422
    assert db.execute("SELECT count(*) FROM warnings").fetchone()[0] == 0


def test_the_api_takes_and_gives_back_the_refutation(client, auth, db):
    alert = api_create(client, auth, **refutation())
    assert alert["refutation"] == {"claim": CLAIM, "links": ["http://vneid-capnhat.com/cap-nhat"]}
    other = api_create(client, auth)
    assert other["refutation"] is None
    missing = client.post(
        "/api/v1/alerts",
        json=draft(**refutation(refutation={"links": []})),
        headers=auth("hoankiem.canbo"),
    )
    assert missing.status_code == 422
    assert "claim" in {e.get("field") or e.get("name") for e in missing.json["errors"]}
