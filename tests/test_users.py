"""Unit admins manage users of their unit and the units below it, nobody else's."""

from __future__ import annotations

from alerts.store import audit as audit_store
from alerts.store import users as user_store
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.conftest import sign_in_first_time

NEW_PASSWORD = "a long enough passphrase"


def _create(client, username, unit, roles=("officer",), password=NEW_PASSWORD):
    data = {
        "username": username,
        "full_name": "Nguyễn Văn A",
        "unit": unit,
        "roles": list(roles),
        "password": password,
    }
    return post_form(client, "/admin/users/new", data)


def _make_admin(runner, username, unit):
    result = runner.invoke(
        args=[
            "create-user",
            "--username",
            username,
            "--full-name",
            "Quản trị",
            "--unit",
            unit,
            "--role",
            "admin",
            "--password",
            NEW_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output


def test_ministry_admin_creates_a_commune_officer(client, db):
    sign_in(client, "bo.admin")
    response = _create(client, "hk.moi", "ca-00070")
    assert response.status_code == 302
    user = user_store.get_user_by_username(db, "hk.moi")
    assert user.full_name == "Nguyễn Văn A" and {r.value for r in user.roles} == {"officer"}
    entry = audit_store.recent(db, limit=1)[0]
    assert (entry["action"], entry["actor"], entry["object"]) == (
        "user.create",
        "bo.admin",
        "user:hk.moi",
    )
    assert NEW_PASSWORD not in entry["detail"]
    assert sign_in(client.application.test_client(), "hk.moi", NEW_PASSWORD).status_code == 302


def test_provincial_admin_is_kept_inside_the_province(runner, app, db):
    _make_admin(runner, "hanoi.admin", "ca-01")
    client = app.test_client()
    sign_in_first_time(client, "hanoi.admin", NEW_PASSWORD)
    assert _create(client, "hk.two", "ca-00070").status_code == 302
    refused = _create(client, "dn.two", "ca-48")
    assert refused.status_code == 400
    assert "thuộc phạm vi quản lý" in refused.get_data(as_text=True)
    assert user_store.get_user_by_username(db, "dn.two") is None
    danang = user_store.get_user_by_username(db, "danang.duyet")
    assert client.get(f"/admin/users/{danang.id}").status_code == 404
    listed = client.get("/admin/users").get_data(as_text=True)
    assert "hoankiem.canbo" in listed and "danang.duyet" not in listed
    assert client.get("/admin/units/ca-48").status_code == 404
    assert client.get("/admin/units/ca-00070").status_code == 200


def test_commune_admin_manages_only_their_commune(runner, app):
    _make_admin(runner, "hk.admin", "ca-00070")
    client = app.test_client()
    sign_in_first_time(client, "hk.admin", NEW_PASSWORD)
    assert _create(client, "hk.three", "ca-00070").status_code == 302
    assert _create(client, "hn.three", "ca-01").status_code == 400
    assert "hanoi.canbo" not in client.get("/admin/users").get_data(as_text=True)


def test_officer_cannot_open_user_admin_and_it_is_audited(client, db):
    sign_in(client, "hoankiem.canbo")
    assert client.get("/admin/users").status_code == 403
    assert audit_store.count_actions(db, "request.forbidden") == 1
    assert client.get("/admin/units/ca-00073").status_code == 404
    assert client.get("/admin/units/nonsense").status_code == 404


def test_disabling_a_user_ends_their_sessions(app, db):
    victim = app.test_client()
    sign_in(victim, "hanoi.canbo")
    assert victim.get("/admin/").status_code == 200
    admin = app.test_client()
    sign_in(admin, "bo.admin")
    user = user_store.get_user_by_username(db, "hanoi.canbo")
    data = {"full_name": user.full_name, "unit": "ca-01", "roles": ["officer"]}  # active unchecked
    assert post_form(admin, f"/admin/users/{user.id}", data).status_code == 302
    assert not user_store.get_user_by_username(db, "hanoi.canbo").active
    assert victim.get("/admin/").status_code == 302
    assert audit_store.recent(db, limit=1)[0]["action"] == "user.update"
    assert sign_in(app.test_client(), "hanoi.canbo").status_code == 401


def test_admin_cannot_disable_themselves(client, db):
    sign_in(client, "bo.admin")
    me = user_store.get_user_by_username(db, "bo.admin")
    data = {"full_name": me.full_name, "unit": "bca", "roles": ["approver"], "active": "y"}
    response = post_form(client, f"/admin/users/{me.id}", data)
    assert response.status_code == 400
    assert user_store.get_user_by_username(db, "bo.admin").has("admin")


def test_bad_user_input_gets_field_messages_and_changes_nothing(client, db):
    sign_in(client, "bo.admin")
    before = user_store.count_users(db)
    assert _create(client, "Bad Name!", "ca-01").status_code == 400
    assert _create(client, "short.pw", "ca-01", password="short").status_code == 400
    assert _create(client, "hanoi.canbo", "ca-01").status_code == 400
    assert _create(client, "x.unit", "ca-99999").status_code == 400
    long_name = {
        "username": "long.name",
        "full_name": "x" * 500,
        "unit": "ca-01",
        "roles": ["officer"],
        "password": NEW_PASSWORD,
    }
    assert post_form(client, "/admin/users/new", long_name).status_code == 400
    assert user_store.count_users(db) == before


def test_password_reset_by_admin_and_own_change(app, db):
    admin = app.test_client()
    sign_in(admin, "bo.admin")
    user = user_store.get_user_by_username(db, "bo.canbo")
    response = post_form(
        admin,
        f"/admin/users/{user.id}/password",
        {"password": NEW_PASSWORD},
        form_page=f"/admin/users/{user.id}",
    )
    assert response.status_code == 302
    client = app.test_client()
    assert sign_in(client, "bo.canbo").status_code == 401
    assert sign_in(client, "bo.canbo", NEW_PASSWORD).status_code == 302
    wrong = post_form(
        client, "/account/", {"current_password": "nope", "new_password": "another long passphrase"}
    )
    assert wrong.status_code == 400
    ok = post_form(
        client,
        "/account/",
        {"current_password": NEW_PASSWORD, "new_password": "another long passphrase"},
    )
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200  # this session survives the change
