"""Nobody gets a warning out alone: a password an admin chose must be replaced by its owner,
nobody reviews what was written through an account they recently took over, nobody changes
their own roles, and approving powers are granted only from a unit above."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.errors import Forbidden
from alerts.errors import Refused
from alerts.models import Role
from alerts.staff import users as staff
from alerts.store import account_changes
from alerts.store import units as unit_store
from alerts.store import users as user_store
from alerts.store import warnings as store
from alerts.warnings import workflow
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import draft
from tests.conftest import acting_as
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.conftest import sign_in_first_time

TEMP = "temporary passphrase 2026"


def _create_user(db, admin: str, username: str, unit: str, roles: list[str]) -> None:
    staff.create_user(
        db,
        acting_as(db, admin),
        username=username,
        full_name="Cán bộ",
        unit_code=unit,
        roles=roles,
        password=TEMP,
    )


def _user_id(db, username: str) -> int:
    return user_store.get_user_by_username(db, username).id


def _national_draft(db, username: str = "bo.canbo") -> int:
    """An Actual warning for the whole country, drafted and sent for approval."""
    alert_id = workflow.create(db, acting_as(db, username), draft(regions=["vn"]), config=CONFIG)
    workflow.submit(db, acting_as(db, username), alert_id, config=CONFIG)
    return alert_id


def _security_events(db) -> list[dict]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'security.review_refused'")
    return [json.loads(r[0]) for r in rows]


def _approve(db, username: str, alert_id: int):
    alert = store.get_alert(db, alert_id)
    return workflow.approve(
        db, acting_as(db, username), alert_id, seen_hash=alert.content_hash, config=CONFIG
    )


def test_the_reviewed_attack_an_admin_resets_an_officer_and_approves_as_himself(app, db, auth):
    """The reviewers' scenario, end to end through the UI, then through the API."""
    admin = app.test_client()
    sign_in(admin, "bo.admin")
    officer_id = _user_id(db, "bo.canbo")
    reset = post_form(
        admin,
        f"/admin/users/{officer_id}/password",
        {"password": TEMP},
        form_page=f"/admin/users/{officer_id}",
    )
    assert reset.status_code == 302
    # Signed in as the officer, the admin must first replace the password he chose...
    as_officer = app.test_client()
    assert sign_in(as_officer, "bo.canbo", TEMP).status_code == 302
    blocked = as_officer.get("/admin/warnings/new")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/")
    sign_in_first_time(app.test_client(), "bo.canbo", TEMP)
    alert_id = _national_draft(db)
    # ...and back as himself, neither the page nor the API lets him approve.
    page = admin.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert f'action="/admin/warnings/{alert_id}/approve"' not in page
    assert 'id="account-changes"' in page
    seen = store.get_alert(db, alert_id).content_hash
    form = {"content_hash": seen, "confirm": "y"}
    ui = post_form(admin, f"/admin/warnings/{alert_id}/approve", form, form_page="/account/")
    assert ui.status_code == 403
    api = admin.post(
        f"/api/v1/alerts/{alert_id}/approve", json={"content_hash": seen}, headers=auth("bo.admin")
    )
    assert api.status_code == 403, api.get_data(as_text=True)
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    assert [e["attempted"] for e in _security_events(db)] == ["approve", "approve"]
    # A second ministry approver with no hand in it may approve.
    assert _approve(db, "bo.duyet", alert_id).status == Status.PUBLISHED


def test_an_author_who_reset_the_approvers_password_is_refused_the_other_way_round(db):
    """The admin drafts himself and approves through the approver's account he took over."""
    staff.reset_password(db, acting_as(db, "bo.admin"), _user_id(db, "bo.duyet"), TEMP)
    alert_id = _national_draft(db, "bo.canbo")
    workflow.edit(
        db, acting_as(db, "bo.canbo"), alert_id, {"headline": "Cảnh báo lừa đảo mới"}, config=CONFIG
    )
    store.add_editor(db, alert_id, _user_id(db, "bo.admin"))  # as if he edited it too
    with pytest.raises(Forbidden, match="changed your account"):
        _approve(db, "bo.duyet", alert_id)


def test_the_creator_of_the_authors_account_may_not_approve_for_30_days(db):
    _create_user(db, "bo.admin", "hk.moi", "ca-00070", ["officer"])
    alert_id = workflow.create(db, acting_as(db, "hk.moi"), draft(), config=CONFIG)
    workflow.submit(db, acting_as(db, "hk.moi"), alert_id, config=CONFIG)
    assert "approve" not in workflow.allowed_actions(
        db, acting_as(db, "bo.admin"), store.get_alert(db, alert_id)
    )
    with pytest.raises(Forbidden, match="another approver must review it"):
        _approve(db, "bo.admin", alert_id)
    assert _security_events(db)[-1]["attempted"] == "approve"
    assert _approve(db, "hanoi.duyet", alert_id).status == Status.PUBLISHED


def test_changes_older_than_30_days_no_longer_bar_the_approver(db):
    officer = _user_id(db, "bo.canbo")
    old = to_text(utcnow() - timedelta(days=31))
    account_changes.record(db, officer, "password_reset", _user_id(db, "bo.admin"), old)
    alert_id = _national_draft(db)
    assert _approve(db, "bo.admin", alert_id).status == Status.PUBLISHED


def test_a_reset_password_must_be_replaced_and_the_owner_sees_who_reset_it(app, db):
    staff.reset_password(db, acting_as(db, "bo.admin"), _user_id(db, "hanoi.canbo"), TEMP)
    client = app.test_client()
    assert sign_in(client, "hanoi.canbo", TEMP).status_code == 302
    for path in ("/admin/", "/admin/warnings/", "/admin/warnings/new"):
        assert client.get(path).headers.get("Location", "").endswith("/account/"), path
    profile = client.get("/account/").get_data(as_text=True)
    assert 'id="must-change"' in profile and "bo.admin" in profile
    same = post_form(client, "/account/", {"current_password": TEMP, "new_password": TEMP})
    assert same.status_code == 400
    changed = post_form(
        client, "/account/", {"current_password": TEMP, "new_password": "my very own passphrase"}
    )
    assert changed.status_code == 302
    assert client.get("/admin/warnings/").status_code == 200


def test_a_second_factor_reset_is_shown_to_its_owner(app, db):
    staff.reset_totp(db, acting_as(db, "bo.admin"), _user_id(db, "hanoi.duyet"))
    client = app.test_client()
    sign_in(client, "hanoi.duyet")
    profile = client.get("/account/").get_data(as_text=True)
    assert 'id="account-changes"' in profile and "bo.admin" in profile


def _set_roles(db, admin: str, username: str, roles: list[str], unit: str | None = None):
    user = user_store.get_user_by_username(db, username)
    unit_code = unit or unit_store.get_unit(db, user.unit_id).code
    staff.update_user(
        db,
        acting_as(db, admin),
        user.id,
        full_name=user.full_name,
        unit_code=unit_code,
        roles=roles,
        active=True,
    )


def _provincial_admin(db) -> None:
    _create_user(db, "bo.admin", "hanoi.admin", "ca-01", ["admin", "officer"])


def test_nobody_changes_their_own_roles_or_unit(db):
    with pytest.raises(Refused, match="your own roles or unit"):
        _set_roles(db, "bo.admin", "bo.admin", ["admin", "approver", "officer"])
    with pytest.raises(Refused, match="your own roles or unit"):
        _set_roles(db, "bo.admin", "bo.admin", ["admin", "approver"], unit="ca-01")
    assert {r.value for r in user_store.get_user_by_username(db, "bo.admin").roles} == {
        "admin",
        "approver",
    }


def test_approving_powers_are_granted_only_from_a_unit_above(db):
    _provincial_admin(db)
    # A provincial admin may not make anyone of the province an approver or an admin...
    with pytest.raises(Refused, match="unit above"):
        _set_roles(db, "hanoi.admin", "hanoi.canbo", ["officer", "approver"])
    with pytest.raises(Refused, match="unit above"):
        _create_user(db, "hanoi.admin", "hanoi.duyet3", "ca-01", ["approver"])
    # ...may still create officers of the province and its communes...
    for username, unit in (("hanoi.canbo2", "ca-01"), ("hk.canbo2", "ca-00070")):
        _create_user(db, "hanoi.admin", username, unit, ["officer"])
    # ...and may grant approving to a commune, the unit below.
    _set_roles(db, "hanoi.admin", "hoankiem.canbo", ["officer", "approver"])
    # The ministry grants powers to ministry staff (there is no unit above it).
    _set_roles(db, "bo.admin", "bo.canbo", ["officer", "approver"])
    assert user_store.get_user_by_username(db, "bo.canbo").has(Role.APPROVER)
