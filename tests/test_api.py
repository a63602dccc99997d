"""The REST API under /api/v1, driven over HTTP with real tokens on a real database.

Every transition the UI allows or refuses is tried through the API: the same rules must
hold, with the status codes and problem+json bodies partners script against.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta

import pytest

from alerts.api import inputs
from alerts.api import views
from alerts.audit import Actor
from alerts.clock import utcnow
from alerts.staff import api_tokens as tokens
from alerts.warnings import signatures as signing
from tests.builders import api_act
from tests.builders import api_approve
from tests.builders import api_create
from tests.builders import api_published
from tests.builders import api_submitted
from tests.builders import draft
from tests.conftest import make_app
from tests.conftest import sign_in

CLI = Actor("cli", "bca")
PROBLEM = "application/problem+json"
# The app's ALERTS_PUBLIC_URL in tests (its default): every absolute link starts with it.
PUBLIC = "http://127.0.0.1:5000"
# The smallest valid PNG signature plus some bytes: enough for the type check.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def problem(response, status: int) -> dict:
    """Assert the response is an RFC 9457 problem with this status; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def give_role(db, username: str, role: str) -> None:
    db.execute(
        "INSERT INTO user_roles (user_id, role) SELECT id, ? FROM users WHERE username = ?",
        [role, username],
    )


def later(**delta) -> str:
    return (utcnow() + timedelta(**delta)).isoformat()


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer cbt_not-a-real-token", "Basic aGk6dGhlcmU=", "cbt_x"]
)
def test_it_answers_401_without_a_live_token(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/alerts", headers=headers)
    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_a_wrong_token_is_named_invalid_token(client):
    response = client.get("/api/v1/alerts", headers={"Authorization": "Bearer cbt_nope"})
    assert "error=invalid_token" in response.headers["WWW-Authenticate"]


def test_a_session_cookie_does_not_authenticate(client):
    assert sign_in(client, "hoankiem.canbo").status_code == 302
    assert client.get("/admin/").status_code == 200
    problem(client.get("/api/v1/alerts"), 401)
    problem(client.post("/api/v1/alerts", json=draft()), 401)


def test_revoked_token_and_disabled_account_get_401(client, db):
    token, secret = tokens.create_token(db, CLI, "hoankiem.canbo")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    tokens.revoke_token(db, CLI, token.id)
    problem(client.get("/api/v1/alerts", headers=headers), 401)

    _token, other = tokens.create_token(db, CLI, "hanoi.canbo")
    headers = {"Authorization": f"Bearer {other}"}
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    db.execute("UPDATE users SET active = 0 WHERE username = 'hanoi.canbo'")
    problem(client.get("/api/v1/alerts", headers=headers), 401)
    reasons = [
        r[0]
        for r in db.execute(
            "SELECT json_extract(detail, '$.reason') FROM audit_log"
            " WHERE action = 'api_token.refused' ORDER BY id"
        )
    ]
    assert reasons == ["token revoked", "account disabled"]


def test_posts_need_no_csrf_token(client, auth):
    # The app protects every form with CSRF; bearer-token requests are exempt.
    assert (
        client.post("/api/v1/alerts", json=draft(), headers=auth("hoankiem.canbo")).status_code
        == 201
    )


# --- drafting ------------------------------------------------------------------------------


def test_create_read_list_and_patch(client, auth):
    response = client.post("/api/v1/alerts", json=draft(), headers=auth("hoankiem.canbo"))
    assert response.status_code == 201 and response.content_type == "application/json"
    alert = response.json
    assert response.headers["Location"] == f"{PUBLIC}/api/v1/alerts/{alert['id']}"
    assert (alert["status"], alert["revision"], alert["msg_type"]) == ("draft", 1, "Alert")
    assert (alert["references"], alert["series_id"]) == (None, alert["id"])
    assert (alert["unit"], alert["created_by"], alert["approved_by"]) == (
        "ca-00070",
        "hoankiem.canbo",
        None,
    )
    assert (alert["code"], alert["url"], alert["publish_at"]) == (None, None, None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", alert["expires_at"])
    assert alert["regions"] == ["00070"] and alert["channels"] == ["zalo", "sms"]
    assert alert["indicators"] == {
        "phones": ["+84912345678"],
        "accounts": [],
        "links": ["http://vneid-capnhat.com/x"],
    }
    assert alert["actions"] == ["edit", "submit", "withdraw"]
    assert len(alert["content_hash"]) == 64 and alert["mode"] == "Actual"

    read = client.get(f"/api/v1/alerts/{alert['id']}", headers=auth("hoankiem.canbo")).json
    assert read == alert
    province = client.get("/api/v1/alerts", headers=auth("hanoi.duyet")).json["alerts"]
    assert [a["id"] for a in province] == [alert["id"]]
    assert province[0]["actions"] == []  # a draft is not the approver's yet
    drafts = client.get("/api/v1/alerts?status=draft", headers=auth("hoankiem.canbo")).json
    assert [a["id"] for a in drafts["alerts"]] == [alert["id"]]
    other = client.get("/api/v1/alerts?status=submitted,published", headers=auth("hoankiem.canbo"))
    assert other.json == {"alerts": [], "total": 0}

    response = client.patch(
        f"/api/v1/alerts/{alert['id']}",
        json={"headline": "Tiêu đề mới"},
        headers=auth("hoankiem.canbo"),
    )
    edited = response.json
    assert response.status_code == 200 and edited["headline"] == "Tiêu đề mới"
    assert edited["description"] == alert["description"] and edited["id"] == alert["id"]
    assert edited["status"] == "draft" and edited["content_hash"] != alert["content_hash"]


def test_list_is_scoped_to_the_unit_and_below(client, auth):
    commune = api_create(client, auth)
    province = api_create(client, auth, "hanoi.canbo", regions=["01"])
    danang = api_create(client, auth, "haichau.canbo", regions=["20242"])
    seen = {
        name: {a["id"] for a in client.get("/api/v1/alerts", headers=auth(name)).json["alerts"]}
        for name in ("hoankiem.canbo", "hanoi.duyet", "danang.duyet", "bo.duyet")
    }
    assert seen["hoankiem.canbo"] == {commune["id"]}
    assert seen["hanoi.duyet"] == {commune["id"], province["id"]}
    assert seen["danang.duyet"] == {danang["id"]}
    assert seen["bo.duyet"] == {commune["id"], province["id"], danang["id"]}
    body = problem(client.get("/api/v1/alerts?status=live", headers=auth("bo.duyet")), 422)
    assert body["errors"][0]["field"] == "status"


# --- approval ------------------------------------------------------------------------------


def test_province_approves_a_commune_warning_and_it_is_published(client, auth):
    alert = api_submitted(client, auth)
    assert alert["status"] == "submitted" and alert["actions"] == ["edit", "withdraw"]
    seen = client.get(f"/api/v1/alerts/{alert['id']}", headers=auth("hanoi.duyet")).json
    assert seen["actions"] == ["approve", "reject"]
    response = api_approve(client, auth, "hanoi.duyet", seen)
    assert response.status_code == 200
    done = response.json
    assert (done["status"], done["approved_by"]) == ("published", "hanoi.duyet")
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", done["code"])
    assert done["url"] == f"http://127.0.0.1:5000/a/{done['code']}"  # ALERTS_PUBLIC_URL
    assert done["published_at"].endswith("+07:00") and done["actions"] == ["cancel"]
    # Anyone can verify the publication with the public key, offline.
    key = client.get("/api/v1/signing-key").json
    (signature,) = done["signatures"]
    assert (signature["msg_type"], signature["key_id"]) == ("Alert", key["key_id"])
    payload = base64.b64decode(signature["payload"])
    assert json.loads(payload)["code"] == done["code"]
    assert signing.verify(key["public_key"], payload, signature["signature"])
    tampered = payload.replace(done["code"].encode(), b"ABCDEFGH")
    assert not signing.verify(key["public_key"], tampered, signature["signature"])


def test_nobody_approves_a_warning_they_drafted(client, auth, db):
    give_role(db, "hanoi.duyet", "officer")
    alert = api_submitted(client, auth, "hanoi.duyet", regions=["01"])
    body = problem(api_approve(client, auth, "hanoi.duyet", alert), 403)
    assert body["type"] == f"{PUBLIC}/api/v1/problems/forbidden"
    assert body["detail"] == "You drafted or edited this warning: another approver must review it."
    assert "errors" not in body
    state = client.get(f"/api/v1/alerts/{alert['id']}", headers=auth("hanoi.duyet")).json
    assert state["status"] == "submitted"
    assert api_approve(client, auth, "hanoi.duyet2", alert).json["status"] == "published"


def test_another_province_does_not_even_see_the_warning(client, auth):
    alert = api_submitted(client, auth)
    refused = problem(api_approve(client, auth, "danang.duyet", alert), 404)
    unknown = problem(api_approve(client, auth, "danang.duyet", {**alert, "id": 424242}), 404)
    assert refused == unknown
    problem(client.get(f"/api/v1/alerts/{alert['id']}", headers=auth("danang.duyet")), 404)
    problem(client.get("/api/v1/alerts/99999999999999999999999", headers=auth("bo.duyet")), 404)


def test_an_officer_may_not_approve(client, auth):
    alert = api_submitted(client, auth)
    body = problem(api_approve(client, auth, "hanoi.canbo", alert), 403)
    assert body["detail"] == "Only approvers may do this."


def test_a_replayed_or_stale_approval_is_a_conflict(client, auth):
    first = api_submitted(client, auth)
    assert api_approve(client, auth, "hanoi.duyet", first).status_code == 200
    body = problem(api_approve(client, auth, "hanoi.duyet", first), 409)
    assert body["type"] == f"{PUBLIC}/api/v1/problems/conflict"

    second = api_submitted(client, auth)
    response = client.patch(
        f"/api/v1/alerts/{second['id']}",
        json={"headline": "Tiêu đề đã sửa"},
        headers=auth("hoankiem.canbo"),
    )
    assert response.json["content_hash"] != second["content_hash"]
    body = problem(api_approve(client, auth, "hanoi.duyet", second), 409)
    assert body["detail"] == "The warning changed since you opened it: review it again."
    assert api_approve(client, auth, "hanoi.duyet", response.json).json["status"] == "published"


def test_approval_needs_the_reviewed_content_hash(client, auth):
    alert = api_submitted(client, auth)
    body = problem(api_act(client, auth, "hanoi.duyet", alert["id"], "approve", {}), 422)
    assert [e["field"] for e in body["errors"]] == ["content_hash"]
    problem(api_act(client, auth, "hanoi.duyet", alert["id"], "approve"), 400)


def test_an_edit_after_approval_goes_back_to_submitted(client, auth):
    alert = api_submitted(client, auth, publish_at=later(hours=2))
    approved = api_approve(client, auth, "hanoi.duyet", alert).json
    assert (approved["status"], approved["code"]) == ("approved", None)
    assert approved["publish_at"].endswith("+07:00")
    response = client.patch(
        f"/api/v1/alerts/{alert['id']}",
        json={"instruction": "Gọi 113 ngay."},
        headers=auth("hoankiem.canbo"),
    )
    assert response.status_code == 200
    assert (response.json["status"], response.json["approved_by"]) == ("submitted", None)


def test_reject_needs_a_reason_and_returns_the_warning_to_its_author(client, auth):
    alert = api_submitted(client, auth)
    body = problem(api_act(client, auth, "hanoi.duyet", alert["id"], "reject", {"reason": 5}), 422)
    assert [e["field"] for e in body["errors"]] == ["content_hash", "reason"]
    empty = {"content_hash": alert["content_hash"], "reason": " "}
    body = problem(api_act(client, auth, "hanoi.duyet", alert["id"], "reject", empty), 422)
    assert body["errors"] == [{"field": "reason", "message": "Give a reason."}]
    reason = {"content_hash": alert["content_hash"], "reason": "Thiếu số điện thoại"}
    response = api_act(client, auth, "hanoi.duyet", alert["id"], "reject", reason)
    assert response.status_code == 200
    assert (response.json["status"], response.json["reject_reason"]) == (
        "rejected",
        "Thiếu số điện thoại",
    )
    mine = client.get(f"/api/v1/alerts/{alert['id']}", headers=auth("hoankiem.canbo")).json
    assert mine["actions"] == ["edit", "submit", "withdraw"]


def test_withdraw_before_approval_only(client, auth):
    alert = api_submitted(client, auth)
    response = api_act(client, auth, "hoankiem.canbo", alert["id"], "withdraw")
    assert response.status_code == 200 and response.json["status"] == "withdrawn"
    problem(api_act(client, auth, "hoankiem.canbo", alert["id"], "withdraw"), 409)
    problem(api_act(client, auth, "hoankiem.canbo", alert["id"], "submit"), 409)
    problem(api_act(client, auth, "hanoi.duyet", alert["id"], "withdraw"), 403)


def test_update_starts_a_new_revision_that_supersedes_on_publication(client, auth):
    first = api_published(client, auth)
    response = api_act(
        client, auth, "hoankiem.canbo", first["id"], "update", {"headline": "Cập nhật"}
    )
    assert response.status_code == 201
    second = response.json
    assert response.headers["Location"] == f"{PUBLIC}/api/v1/alerts/{second['id']}"
    assert (second["msg_type"], second["references"], second["revision"]) == (
        "Update",
        first["id"],
        2,
    )
    assert (second["series_id"], second["status"], second["headline"]) == (
        first["id"],
        "draft",
        "Cập nhật",
    )
    assert second["description"] == first["description"]
    problem(api_act(client, auth, "hoankiem.canbo", first["id"], "update"), 409)
    api_act(client, auth, "hoankiem.canbo", second["id"], "submit")
    assert api_approve(client, auth, "hanoi.duyet", second).json["status"] == "published"
    old = client.get(f"/api/v1/alerts/{first['id']}", headers=auth("hoankiem.canbo")).json
    assert old["superseded_by"] == second["id"] and old["actions"] == []


def test_cancel_is_one_step_for_an_approver_and_forbidden_to_officers(client, auth):
    alert = api_published(client, auth)
    body = problem(
        api_act(client, auth, "hoankiem.canbo", alert["id"], "cancel", {"reason": "Sai"}), 403
    )
    assert body["type"].endswith("/problems/forbidden")
    body = problem(api_act(client, auth, "hanoi.duyet", alert["id"], "cancel", {}), 422)
    assert body["errors"] == [{"field": "reason", "message": "Give a reason."}]
    problem(api_act(client, auth, "danang.duyet", alert["id"], "cancel", {"reason": "Sai"}), 404)
    response = api_act(client, auth, "hanoi.duyet", alert["id"], "cancel", {"reason": "Tin sai"})
    assert response.status_code == 200
    assert (response.json["status"], response.json["cancel_reason"]) == ("cancelled", "Tin sai")
    assert response.json["cancelled_at"].endswith("+07:00")
    problem(api_act(client, auth, "hanoi.duyet", alert["id"], "cancel", {"reason": "again"}), 409)


def test_exercise_mode_is_kept(client, auth):
    alert = api_published(client, auth, mode="Exercise")
    assert alert["mode"] == "Exercise"
    update = api_act(client, auth, "hoankiem.canbo", alert["id"], "update", {"mode": "Actual"})
    assert problem(update, 422)["errors"][0]["field"] == "mode"


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"headline": "x" * 161}, "headline", "At most 160 characters (now 161)."),
        (
            {"publish_at": later(days=2), "expires_at": later(days=1)},
            "expires_at",
            "The expiry time must come after the publish time.",
        ),
        ({"expires_at": "2099-01-01T00:00:00"}, "expires_at", "Give the UTC offset"),
        ({"regions": ["99999"]}, "regions", "Unknown region code: 99999"),
        ({"regions": ["48"]}, "regions", "Region 48 is outside your jurisdiction."),
        ({"link": "https://evil.example.com/a"}, "link", "official domains"),
        ({"indicators": {"phones": ["12345"]}}, "indicators.phones", "Not a valid phone number"),
        ({"channels": ["fax"]}, "channels", "Unknown channel: fax"),
    ],
)
def test_invalid_fields_are_a_422_naming_them(client, auth, db, changes, field, message):
    response = client.post("/api/v1/alerts", json=draft(**changes), headers=auth("hoankiem.canbo"))
    body = problem(response, 422)
    assert body["type"] == f"{PUBLIC}/api/v1/problems/invalid"
    assert [e["field"] for e in body["errors"]] == [field]
    assert message in body["errors"][0]["message"]
    assert db.execute("SELECT COUNT(*) FROM warnings").fetchone()[0] == 0


def test_every_invalid_field_is_listed_at_once(client, auth):
    bad = draft(headline="", regions=["99999"], severity="Unknown", indicators={"phones": ["1"]})
    body = problem(client.post("/api/v1/alerts", json=bad, headers=auth("hoankiem.canbo")), 422)
    fields = sorted(e["field"] for e in body["errors"])
    assert fields == ["headline", "indicators.phones", "regions", "severity"]


def test_wrong_types_are_refused_not_crashed(client, auth):
    bad = draft(
        headline=5,
        regions=[1],
        channels={"sms": True},
        publish_at=5,
        mode=["Actual"],
        image=7,
        link=None,
    )
    body = problem(client.post("/api/v1/alerts", json=bad, headers=auth("hoankiem.canbo")), 422)
    assert {"headline", "regions", "channels", "publish_at", "mode", "image"} <= {
        e["field"] for e in body["errors"]
    }


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'"text"', b"", b"{", b'{"a": "\xff"}'])
def test_a_body_that_is_not_a_json_object_is_a_400(client, auth, data):
    response = client.post(
        "/api/v1/alerts",
        data=data,
        content_type="application/json",
        headers=auth("hoankiem.canbo"),
    )
    assert problem(response, 400)["detail"] == "The body must be a JSON object."


def test_a_body_over_3_mb_is_a_413(client, auth):
    huge = b'{"headline": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/alerts", data=huge, content_type="application/json", headers=auth("hoankiem.canbo")
    )
    problem(response, 413)


def test_unknown_routes_and_methods_answer_problems(client, auth):
    problem(client.get("/api/v1/nothing-here", headers=auth("hoankiem.canbo")), 404)
    problem(client.get("/api/v1/nothing-here"), 404)
    response = client.delete("/api/v1/alerts", headers=auth("hoankiem.canbo"))
    problem(response, 405)
    assert "POST" in response.headers["Allow"]
    # The rest of the site keeps its HTML pages.
    assert client.get("/nothing-here").content_type.startswith("text/html")


def test_problems_answer_in_vietnamese_on_request(client, auth):
    headers = {**auth("hoankiem.canbo"), "Accept-Language": "vi"}
    body = problem(client.get("/api/v1/alerts/4242", headers=headers), 404)
    assert body["detail"] == "Không tìm thấy."
    english = problem(client.get("/api/v1/alerts/4242", headers=auth("hoankiem.canbo")), 404)
    assert english["detail"] == "Not found."


# --- images --------------------------------------------------------------------------------


def test_an_image_arrives_as_a_data_url_or_a_stored_hash(client, auth, db):
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    alert = api_create(client, auth, image=data_url)
    digest = hashlib.sha256(PNG).hexdigest()
    assert alert["image"] == digest
    assert db.execute("SELECT mime FROM images WHERE sha256 = ?", [digest]).fetchone() == (
        "image/png",
    )
    assert api_create(client, auth, image=digest)["image"] == digest


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("data:image/png;base64,***", "Send the image as a data:image"),
        ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "Use a PNG"),
        ("data:text/plain;base64,aGk=", "Send the image as a data:image"),
        ("0" * 64, "Unknown image."),
    ],
)
def test_a_bad_image_is_a_422(client, auth, image, message):
    response = client.post(
        "/api/v1/alerts", json=draft(image=image), headers=auth("hoankiem.canbo")
    )
    body = problem(response, 422)
    assert body["errors"][0]["field"] == "image" and message in body["errors"][0]["message"]


# --- regions and audit ---------------------------------------------------------------------


def test_region_search_ignores_diacritics_and_stays_in_jurisdiction(client, auth):
    found = client.get("/api/v1/regions?q=hoan kiem", headers=auth("hanoi.duyet")).json
    assert {"code": "00070", "name": "Phường Hoàn Kiếm", "level": "commune", "parent": "01"} in (
        found["regions"]
    )
    elsewhere = client.get("/api/v1/regions?q=hoan kiem", headers=auth("danang.duyet")).json
    assert elsewhere == {"regions": []}
    hai_chau = client.get("/api/v1/regions?q=hai chau", headers=auth("danang.duyet")).json
    assert [r["code"] for r in hai_chau["regions"]] == ["20242"]
    nation = client.get("/api/v1/regions?q=hai chau", headers=auth("bo.duyet")).json
    assert {r["code"] for r in nation["regions"]} == {"20242", "17419"}
    too_long = client.get("/api/v1/regions?q=" + "a" * 101, headers=auth("bo.duyet"))
    assert problem(too_long, 422)["errors"][0]["field"] == "q"


def test_audit_trail_of_a_visible_warning(client, auth):
    alert = api_published(client, auth)
    response = client.get(f"/api/v1/audit?object={alert['id']}", headers=auth("hanoi.duyet"))
    entries = response.json["entries"]
    assert [e["action"] for e in entries] == [
        "alert.create",
        "alert.submit",
        "alert.approve",
        "alert.publish",
    ]
    assert [e["actor"] for e in entries] == [
        "hoankiem.canbo",
        "hoankiem.canbo",
        "hanoi.duyet",
        "system",
    ]
    assert entries[0]["object"] == f"alert:{alert['id']}" and entries[0]["at"].endswith("+07:00")
    assert entries[2]["detail"]["content_hash"] == alert["content_hash"]
    assert "ip" not in entries[0]
    same = client.get(f"/api/v1/audit?object=alert:{alert['id']}", headers=auth("hanoi.duyet"))
    assert same.json == response.json
    problem(client.get(f"/api/v1/audit?object={alert['id']}", headers=auth("danang.duyet")), 404)
    for bad in ("", "?object=abc", "?object=-1", "?object=" + "9" * 30):
        response = client.get(f"/api/v1/audit{bad}", headers=auth("hanoi.duyet"))
        assert problem(response, 422)["errors"][0]["field"] == "object"


def test_refusals_through_the_api_are_audited(client, auth):
    alert = api_submitted(client, auth)
    api_approve(client, auth, "hanoi.canbo", alert)
    entries = client.get(f"/api/v1/audit?object={alert['id']}", headers=auth("hanoi.duyet"))
    refused = [e for e in entries.json["entries"] if e["action"] == "alert.refused"]
    assert [(e["actor"], e["detail"]["attempted"]) for e in refused] == [("hanoi.canbo", "approve")]


# --- the description -----------------------------------------------------------------------


def test_openapi_describes_every_route_with_its_methods(app, client):
    response = client.get("/api/v1/openapi.json")  # public: no token
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "/api/v1"}]
    routes: dict[str, dict[str, str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.setdefault(path, {})[method.lower()] = rule.endpoint
    documented = {path: set(ops) for path, ops in doc["paths"].items()}
    assert documented == {path: set(methods) for path, methods in routes.items()}
    for path, methods in routes.items():
        for method, endpoint in methods.items():
            public = app.view_functions[endpoint].access == "public"
            assert (doc["paths"][path][method].get("security") == []) == public, (path, method)
    schemas = doc["components"]["schemas"]
    assert {"Alert", "Problem"} <= set(schemas)
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schemas["Alert"]["properties"]["status"]["enum"] == [
        "draft",
        "submitted",
        "approved",
        "published",
        "rejected",
        "withdrawn",
        "cancelled",
        "expired",
    ]


def test_the_alert_schema_lists_every_field_the_api_returns(client, auth):
    alert = api_create(client, auth)
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Alert"]
    assert set(schema["properties"]) == set(alert)


def test_problem_types_resolve_to_their_description(client, auth):
    alert = api_submitted(client, auth)
    body = problem(api_approve(client, auth, "hanoi.canbo", alert), 403)
    described = client.get(body["type"].removeprefix(PUBLIC))
    assert described.status_code == 200 and described.json["status"] == 403
    problem(client.get("/api/v1/problems/nonsense"), 404)


# --- unknown fields ------------------------------------------------------------------------


def count_warnings(db) -> int:
    return db.execute("SELECT COUNT(*) FROM warnings").fetchone()[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # Seen: a top-level "phones" was dropped and the warning created without it.
        (draft(phones=["0912 345 678"]), "phones"),
        (draft(status="published"), "status"),
        (draft(indicators={"phones": [], "phone": ["0912 345 678"]}), "indicators.phone"),
        (draft(indicators=["0912 345 678"]), "indicators"),
    ],
)
def test_a_member_the_api_does_not_take_is_a_422_and_nothing_is_created(
    client, auth, db, body, field
):
    response = client.post("/api/v1/alerts", json=body, headers=auth("hoankiem.canbo"))
    body = problem(response, 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert count_warnings(db) == 0


def test_unknown_members_are_refused_on_every_body(client, auth, db):
    alert = api_create(client, auth)
    path = f"/api/v1/alerts/{alert['id']}"
    edit = client.patch(path, json={"headline": "Mới", "id": 9}, headers=auth("hoankiem.canbo"))
    assert [e["field"] for e in problem(edit, 422)["errors"]] == ["id"]
    unchanged = client.get(path, headers=auth("hoankiem.canbo")).json
    assert unchanged["headline"] == alert["headline"]
    submit = api_act(client, auth, "hoankiem.canbo", alert["id"], "submit", {"note": "gấp"})
    assert problem(submit, 422)["errors"][0]["message"] == "Unknown field: note"
    alert = api_submitted(client, auth)
    review = {"content_hash": alert["content_hash"], "comment": "ok"}
    refused = api_act(client, auth, "hanoi.duyet", alert["id"], "approve", review)
    assert [e["field"] for e in problem(refused, 422)["errors"]] == ["comment"]
    assert (
        client.get(f"/api/v1/alerts/{alert['id']}", headers=auth("hanoi.duyet")).json["status"]
        == "submitted"
    )
    assert api_approve(client, auth, "hanoi.duyet", alert).json["status"] == "published"
    cancel = api_act(client, auth, "hanoi.duyet", alert["id"], "cancel", {"reason": "x", "why": 1})
    assert [e["field"] for e in problem(cancel, 422)["errors"]] == ["why"]
    update = api_act(client, auth, "hoankiem.canbo", alert["id"], "update", {"phones": ["1"]})
    assert [e["field"] for e in problem(update, 422)["errors"]] == ["phones"]
    assert count_warnings(db) == 2


def test_indicators_sent_where_documented_are_kept(client, auth):
    alert = api_create(client, auth, indicators={"phones": ["0912 345 678"]})
    assert alert["indicators"]["phones"] == ["+84912345678"]


def test_the_description_closes_every_request_body(client):
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for path in doc["paths"].values()
        for op in path.values()
        if "requestBody" in op
    }
    assert bodies == {
        "AlertInput",
        "Approval",
        "Review",
        "Reason",
        "Empty",
        "ReportChange",
        "AlertFromReports",
    }
    for name in [*bodies, "Indicators"]:
        assert schemas[name]["additionalProperties"] is False, name
    assert set(schemas["AlertInput"]["properties"]) == set(inputs.CONTENT_FIELDS)
    assert schemas["Approval"]["required"] == list(views.APPROVAL)
    assert set(schemas["Review"]["properties"]) == set(views.REJECTION)
    assert set(schemas["Reason"]["properties"]) == set(views.CANCELLATION)


# --- absolute links and transport security -------------------------------------------------


def test_absolute_links_come_from_the_public_url_not_the_host_header(db_path, auth):
    public = "https://canhbao.bocongan.gov.vn"
    client = make_app(db_path, PUBLIC_URL=public).test_client()
    evil = {"Host": "evil.example"}
    response = client.post(
        "/api/v1/alerts", json=draft(), headers={**auth("hoankiem.canbo"), **evil}
    )
    assert response.status_code == 201
    assert response.headers["Location"] == f"{public}/api/v1/alerts/{response.json['id']}"
    alert = response.json
    refused = client.post(
        f"/api/v1/alerts/{alert['id']}/approve",
        json={"content_hash": "x"},
        headers={**auth("hoankiem.canbo"), **evil},
    )
    assert problem(refused, 403)["type"] == f"{public}/api/v1/problems/forbidden"
    invalid = client.post(
        "/api/v1/alerts", json={"x": 1}, headers={**auth("hoankiem.canbo"), **evil}
    )
    assert problem(invalid, 422)["type"] == f"{public}/api/v1/problems/invalid"
    described = client.get("/api/v1/problems/invalid", headers=evil).json
    assert described["type"] == f"{public}/api/v1/problems/invalid"
    assert "evil.example" not in client.get("/", headers=evil).get_data(as_text=True)


@pytest.mark.parametrize(
    ("env", "sent"), [("production", True), ("development", False), ("testing", False)]
)
def test_only_production_sends_strict_transport_security(db_path, env, sent):
    app = make_app(db_path, ENV=env, SECRET_KEY="s" * 40)
    client = app.test_client()
    for path in ("/healthz", "/api/v1/openapi.json", "/api/v1/nothing", "/nothing", "/"):
        response = client.get(path)
        hsts = response.headers.get("Strict-Transport-Security")
        assert hsts == ("max-age=31536000; includeSubDomains" if sent else None), path


# --- audit entries keep their values -------------------------------------------------------


def refusals(db) -> list[dict]:
    rows = db.execute("SELECT detail FROM audit_log WHERE action = 'alert.refused' ORDER BY id")
    return [json.loads(detail) for (detail,) in rows]


def test_a_refusal_is_audited_with_its_values_filled_in(client, auth, db):
    response = client.post(
        "/api/v1/alerts", json=draft(regions=["48"]), headers=auth("hoankiem.canbo")
    )
    problem(response, 422)
    assert refusals(db) == [
        {
            "attempted": "create",
            "reason": "Region 48 is outside your jurisdiction.",
            "field": "regions",
            "values": {"code": "48"},
        }
    ]


def test_every_problem_of_a_refusal_is_audited_and_phone_numbers_stay_masked(client, auth, db):
    bad = draft(regions=["48"], headline="x" * 161, indicators={"phones": ["0912 345 678 999"]})
    problem(client.post("/api/v1/alerts", json=bad, headers=auth("hoankiem.canbo")), 422)
    [entry] = refusals(db)
    assert "Region 48 is outside your jurisdiction." in entry["reason"]
    assert "At most 160 characters (now 161)." in entry["reason"]
    problems = {p["field"]: p for p in entry["problems"]}
    assert problems["regions"]["values"] == {"code": "48"}
    assert problems["headline"]["values"] == {"max": 160, "count": 161}
    stored = db.execute("SELECT detail FROM audit_log WHERE action = 'alert.refused'").fetchone()
    assert "0912" not in stored[0] and "345 678" not in stored[0]
