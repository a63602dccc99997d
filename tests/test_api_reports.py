"""Residents' reports under /api/v1: the inbox within jurisdiction (404 outside), paging,
decisions with problems+json refusals, assignment, a warning drafted from reports, and the
OpenAPI document describing it all."""

from __future__ import annotations

import pytest

from alerts.store import report_inbox as store
from tests.builders import CONFIG
from tests.builders import draft
from tests.conftest import make_app
from tests.report_builders import add_report
from tests.report_builders import other_commune

PROBLEM = "application/problem+json"


@pytest.fixture
def app(db_path):
    """The app sharing the builders' data key (the reporters' contacts open with it)."""
    return make_app(db_path, DATA_KEY=CONFIG["DATA_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


def test_the_list_is_jurisdiction_filtered_new_first_and_paged(client, auth, db):
    first = add_report(db)
    second = add_report(db)
    add_report(db, region="20242")
    response = client.get("/api/v1/reports", headers=auth("hoankiem.canbo"))
    assert response.status_code == 200
    listed = [r["code"] for r in response.json["reports"]]
    assert sorted(listed) == sorted([first, second])
    page = client.get("/api/v1/reports?limit=1&offset=1", headers=auth("hoankiem.canbo"))
    assert [r["code"] for r in page.json["reports"]] == listed[1:]
    assert (
        client.get("/api/v1/reports", headers=auth("haichau.canbo")).json["reports"][0]["region"]
        == "20242"
    )
    assert len(client.get("/api/v1/reports", headers=auth("bo.canbo")).json["reports"]) == 3
    assert client.get("/api/v1/reports").status_code == 401


def test_unknown_filters_are_problems(client, auth, db):
    response = client.get("/api/v1/reports?status=open", headers=auth("hoankiem.canbo"))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["errors"][0]["field"] == "status"


def test_a_report_outside_the_jurisdiction_is_404(client, auth, db):
    code = add_report(db, region=other_commune(db), contact="+84911222333")
    response = client.get(f"/api/v1/reports/{code}", headers=auth("hoankiem.canbo"))
    assert response.status_code == 404 and response.mimetype == PROBLEM
    patch = client.patch(
        f"/api/v1/reports/{code}", json={"status": "in_review"}, headers=auth("hoankiem.canbo")
    )
    assert patch.status_code == 404
    seen = client.get(f"/api/v1/reports/{code}", headers=auth("hanoi.duyet")).json
    assert seen["contact"] == "***333" and "+84911222333" not in str(seen)
    assert seen["indicators"]["phones"] == ["+84912345678"]


def test_decisions_and_their_refusals(client, auth, db):
    code = add_report(db)
    headers = auth("hoankiem.canbo")
    url = f"/api/v1/reports/{code}"
    reviewed = client.patch(url, json={"status": "in_review"}, headers=headers)
    assert reviewed.status_code == 200 and reviewed.json["status"] == "in_review"
    assert reviewed.json["first_reviewed_at"]
    missing = client.patch(url, json={"status": "dismissed"}, headers=headers)
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "reason"
    unknown = client.patch(url, json={"state": "x"}, headers=headers)
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "state"
    bad = client.patch(url, json={"status": "published"}, headers=headers)
    assert bad.status_code == 422
    assert client.patch(url, json={}, headers=headers).status_code == 422
    assert client.patch(url, data="[", headers=headers).status_code == 400
    done = client.patch(url, json={"status": "dismissed", "reason": "Trùng"}, headers=headers)
    assert done.json["status"] == "dismissed" and done.json["reason"] == "Trùng"
    again = client.patch(url, json={"status": "confirmed"}, headers=headers)
    assert again.status_code == 409 and again.mimetype == PROBLEM
    vi = client.patch(
        url, json={"status": "confirmed"}, headers={**headers, "Accept-Language": "vi"}
    )
    assert vi.status_code == 409 and vi.json["detail"]


def test_duplicates_forwarding_and_assignment(client, auth, db):
    first, again = add_report(db), add_report(db)
    headers = auth("hoankiem.canbo")
    dup = client.patch(
        f"/api/v1/reports/{again}",
        json={"status": "duplicate", "duplicate_of": first},
        headers=headers,
    )
    assert dup.json["duplicate_of"] == first
    assigned = client.patch(
        f"/api/v1/reports/{first}", json={"assigned_to": "hoankiem.canbo"}, headers=headers
    )
    assert assigned.json["assigned_to"] == "hoankiem.canbo"
    wrong = client.patch(
        f"/api/v1/reports/{first}", json={"assigned_to": "hanoi.canbo"}, headers=headers
    )
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "assigned_to"
    up = client.patch(f"/api/v1/reports/{first}", json={"status": "forwarded"}, headers=headers)
    assert (up.json["unit"], up.json["origin_unit"], up.json["assigned_to"]) == (
        "ca-01",
        "ca-00070",
        None,
    )
    assert up.json["actions"] == []
    later = client.patch(f"/api/v1/reports/{first}", json={"status": "in_review"}, headers=headers)
    assert later.status_code == 403
    province = client.get(f"/api/v1/reports/{first}", headers=auth("hanoi.canbo")).json
    assert "review" in province["actions"]


def test_a_warning_is_drafted_from_reports(client, auth, db):
    code = add_report(db, indicators=("phone:0987 654 321", "link:hxxp://vneid[.]top/a"))
    content = draft()
    del content["indicators"], content["regions"]
    response = client.post(
        "/api/v1/alerts/from-reports",
        json={"reports": [code], **content},
        headers=auth("hoankiem.canbo"),
    )
    assert response.status_code == 201, response.json
    alert = response.json
    assert alert["status"] == "draft" and alert["regions"] == ["00070"]
    assert alert["indicators"]["phones"] == ["+84987654321"]
    assert alert["indicators"]["links"] == ["http://vneid.top/a"]
    assert response.headers["Location"].endswith(f"/api/v1/alerts/{alert['id']}")
    assert store.get_by_code(db, code).warning_id == alert["id"]
    outside = client.post(
        "/api/v1/alerts/from-reports",
        json={"reports": [code], **content},
        headers=auth("haichau.canbo"),
    )
    assert outside.status_code == 404
    not_a_list = client.post(
        "/api/v1/alerts/from-reports", json={"reports": code}, headers=auth("hoankiem.canbo")
    )
    assert not_a_list.status_code == 422 and not_a_list.json["errors"][0]["field"] == "reports"


def test_the_document_describes_reports(client):
    doc = client.get("/api/v1/openapi.json").json
    assert {"get", "patch"} == set(doc["paths"]["/reports/{code}"])
    schemas = doc["components"]["schemas"]
    assert schemas["ReportChange"]["additionalProperties"] is False
    assert "contact" in schemas["Report"]["properties"]
