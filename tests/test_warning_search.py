"""Staff search: words without diacritics, region, unit, type, status, mode and dates, within
jurisdiction, the same in the admin list and in the API."""

from __future__ import annotations

import re
from datetime import timedelta

from alerts.clock import to_text
from alerts.clock import utcnow
from tests.builders import create
from tests.builders import published
from tests.builders import submitted
from tests.conftest import sign_in


def _seed(db) -> dict[str, int]:
    ids = {
        "otp": published(db, headline="Cảnh báo lừa đảo chiếm đoạt mã OTP").id,
        "drill": create(
            db, headline="Diễn tập cảnh báo trộm cắp xe máy", mode="Exercise", warning_type="theft"
        ),
        "hanoi": submitted(db, "hanoi.canbo", regions=["01"], headline="Lừa đảo đầu tư tiền ảo"),
        "danang": create(db, "haichau.canbo", regions=["20242"], headline="Lừa đảo ở Hải Châu"),
    }
    old = to_text(utcnow() - timedelta(days=40))
    db.execute("UPDATE warnings SET created_at = ? WHERE id = ?", [old, ids["drill"]])
    return ids


def _ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/admin/warnings/(\d+)"', html)}


def test_words_without_diacritics_find_within_jurisdiction(client, db):
    ids = _seed(db)
    sign_in(client, "hanoi.duyet")
    html = client.get("/admin/warnings/?q=lua dao").get_data(as_text=True)
    assert _ids(html) == {ids["otp"], ids["hanoi"]}  # never Đà Nẵng's
    ministry = client.application.test_client()
    sign_in(ministry, "bo.admin")
    html = ministry.get("/admin/warnings/?q=LUA+DAO").get_data(as_text=True)
    assert _ids(html) == {ids["otp"], ids["hanoi"], ids["danang"]}
    assert "3 cảnh báo" in html


def test_filters_by_region_unit_type_status_mode_and_dates(client, db):
    ids = _seed(db)
    sign_in(client, "bo.admin")

    def found(query: str) -> set[int]:
        response = client.get(f"/admin/warnings/?{query}")
        assert response.status_code == 200, query
        return _ids(response.get_data(as_text=True))

    assert found("region=00070") == {ids["otp"], ids["drill"], ids["hanoi"]}  # Hà Nội covers it
    assert found("region=48") == {ids["danang"]}  # a commune of Đà Nẵng is inside it
    assert found("unit=ca-01") == {ids["otp"], ids["drill"], ids["hanoi"]}
    assert found("unit=ca-00070&type=theft") == {ids["drill"]}
    assert found("status=published") == {ids["otp"]}
    assert found("mode=Exercise") == {ids["drill"]}
    today = utcnow().date().isoformat()
    assert ids["drill"] not in found(f"from={today}") and ids["otp"] in found(f"from={today}")
    old = (utcnow() - timedelta(days=39)).date().isoformat()
    assert found(f"to={old}") == {ids["drill"]}


def test_bad_filters_are_named_not_500(client, db):
    sign_in(client, "hanoi.duyet")
    response = client.get("/admin/warnings/?unit=ca-48&from=31/12/2026&type=nope&region=9")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    problems = html.split('class="flash flash-error"')[1].split("</ul>")[0]
    assert "Vui lòng chọn đơn vị thuộc phạm vi quản lý của bạn." in problems
    assert "Nhập ngày theo dạng yyyy-mm-dd." in problems
    assert "Mã vùng không tồn tại: 9" in problems and "Hãy chọn một trong:" in problems


def test_the_api_takes_the_same_filters(client, db, auth):
    ids = _seed(db)
    headers = auth("hanoi.duyet")
    body = client.get("/api/v1/alerts?q=lua%20dao&status=published", headers=headers).json
    assert [a["id"] for a in body["alerts"]] == [ids["otp"]] and body["total"] == 1
    body = client.get("/api/v1/alerts?mode=Exercise&region=00070", headers=headers).json
    assert [a["id"] for a in body["alerts"]] == [ids["drill"]]
    response = client.get("/api/v1/alerts?unit=ca-48&to=tomorrow", headers=headers)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json["errors"]}
    assert fields == {"unit", "to"}
