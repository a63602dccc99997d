"""The warning pages: drafting, the approval queue with its diff, every action through the
UI routes (with CSRF), refusals shown with the API's status and nothing changed."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta

from alerts.store import warnings as store
from alerts.warnings.models import Status
from tests.builders import VN
from tests.builders import local
from tests.builders import ui_act
from tests.builders import ui_approve
from tests.builders import ui_draft
from tests.builders import ui_form
from tests.builders import ui_submitted
from tests.conftest import csrf_token
from tests.conftest import post_form
from tests.conftest import sign_in

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def switch(client, username: str) -> None:
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    sign_in(client, username)


def test_officer_drafts_in_vietnamese_time_with_normalised_indicators(client, db):
    alert_id = ui_draft(client)
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.DRAFT and alert.unit_id
    assert alert.content.indicators.phones == ("+84912345678",)
    assert alert.content.indicators.accounts == ("Vietcombank 0123456789",)
    assert alert.content.indicators.links == ("https://vneid-capnhat.com/login",)
    expires = datetime.fromisoformat(alert.content.expires_at).astimezone(VN)
    assert expires.strftime("%Y-%m-%dT%H:%M") == ui_form()["expires_at"]
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert "Cảnh báo cuộc gọi giả danh công an phường Hoàn Kiếm" in page
    assert "Phường Hoàn Kiếm" in page and "+84912345678" in page


def test_invalid_form_shows_each_problem_next_to_its_field_and_stores_nothing(client, db):
    sign_in(client, "hoankiem.canbo")
    response = post_form(
        client,
        "/admin/warnings/new",
        ui_form(headline="", regions="01 99999", link="https://lua-dao.example.com", phones="123"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Trường này là bắt buộc.",
        "Vùng 01 nằm ngoài phạm vi phụ trách của bạn.",
        "Mã vùng không tồn tại: 99999",
        "Chỉ được dẫn tới tên miền chính thức",
        "Số điện thoại không hợp lệ: 123",
    ):
        assert message in page, message
    assert db.execute("SELECT COUNT(*) FROM warnings").fetchone()[0] == 0


def test_full_path_submit_queue_approve_publish(client, db):
    alert_id = ui_submitted(client)
    switch(client, "hanoi.duyet")
    queue = client.get("/admin/warnings/queue").get_data(as_text=True)
    assert f"/admin/warnings/{alert_id}" in queue
    # Without ticking the confirmation nothing happens.
    content_hash = store.get_alert(db, alert_id).content_hash
    response = ui_act(client, alert_id, "approve", content_hash=content_hash)
    assert response.status_code == 422
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    assert ui_approve(client, db, alert_id).status_code == 303
    alert = store.get_alert(db, alert_id)
    assert alert.status == Status.PUBLISHED and alert.code
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert f"{alert.code[:4]}-{alert.code[4:]}" in page
    for label in ("đã soạn", "đã gửi duyệt", "đã duyệt", "đã phát hành"):
        assert label in page, label


def test_self_approval_is_refused_in_the_ui(client, db):
    db.execute(
        "INSERT INTO user_roles (user_id, role)"
        " SELECT id, 'officer' FROM users WHERE username = 'hanoi.duyet'"
    )
    alert_id = ui_submitted(client, username="hanoi.duyet")
    response = ui_approve(client, db, alert_id)
    assert response.status_code == 403
    assert "Bạn đã soạn hoặc sửa cảnh báo này" in response.get_data(as_text=True)
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    refused = db.execute(
        "SELECT detail FROM audit_log WHERE action = 'alert.refused' AND object = ?",
        [f"alert:{alert_id}"],
    ).fetchone()
    assert json.loads(refused[0])["attempted"] == "approve"


def test_cross_province_approval_is_not_found(client, db):
    alert_id = ui_submitted(client)
    switch(client, "danang.duyet")
    assert ui_approve(client, db, alert_id).status_code == 404
    assert client.get(f"/admin/warnings/{alert_id}").status_code == 404
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED


def test_officer_cannot_approve_or_cancel(client, db):
    alert_id = ui_submitted(client)
    assert ui_approve(client, db, alert_id).status_code == 403
    assert ui_act(client, alert_id, "cancel", reason="x").status_code == 403
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED


def test_forged_or_stale_hash_is_a_conflict(client, db):
    alert_id = ui_submitted(client)
    switch(client, "hanoi.duyet")
    response = ui_act(client, alert_id, "approve", content_hash="0" * 64, confirm="y")
    assert response.status_code == 409
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED


def test_edit_after_approval_goes_back_and_the_queue_shows_the_diff(client, db):
    alert_id = ui_submitted(client, publish_at=local(timedelta(hours=5)))
    switch(client, "hanoi.duyet")
    ui_approve(client, db, alert_id)
    assert store.get_alert(db, alert_id).status == Status.APPROVED
    switch(client, "hoankiem.canbo")
    changed = ui_form(
        publish_at=local(timedelta(hours=5)), headline="Cảnh báo khẩn: giả danh công an"
    )
    response = post_form(client, f"/admin/warnings/{alert_id}/edit", changed)
    assert response.status_code == 302
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED
    switch(client, "hanoi.duyet")
    queue = client.get("/admin/warnings/queue").get_data(as_text=True)
    assert "<ins>khẩn:</ins>" in queue and "<del>cuộc gọi</del>" in queue


def test_reject_shows_the_reason_to_the_author(client, db):
    alert_id = ui_submitted(client)
    switch(client, "hanoi.duyet")
    content_hash = store.get_alert(db, alert_id).content_hash
    empty = ui_act(client, alert_id, "reject", content_hash=content_hash, reason="")
    assert empty.status_code == 422 and "Hãy nêu lý do." in empty.get_data(as_text=True)
    ui_act(client, alert_id, "reject", content_hash=content_hash, reason="Thiếu số tài khoản <b>")
    switch(client, "hoankiem.canbo")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert "Thiếu số tài khoản &lt;b&gt;" in page


def test_withdraw_update_and_cancel(client, db):
    alert_id = ui_submitted(client)
    switch(client, "hanoi.duyet")
    ui_approve(client, db, alert_id)
    switch(client, "hoankiem.canbo")
    response = ui_act(client, alert_id, "update")
    assert response.status_code == 303 and response.headers["Location"].endswith("/edit")
    revision_id = int(response.headers["Location"].split("/")[-2])
    assert store.get_alert(db, revision_id).msg_type == "Update"
    assert ui_act(client, revision_id, "withdraw").status_code == 303
    assert store.get_alert(db, revision_id).status == Status.WITHDRAWN
    assert ui_act(client, alert_id, "withdraw").status_code == 409
    switch(client, "hanoi.duyet")
    assert ui_act(client, alert_id, "cancel", reason="").status_code == 422
    assert ui_act(client, alert_id, "cancel", reason="Tin không chính xác").status_code == 303
    assert store.get_alert(db, alert_id).status == Status.CANCELLED
    switch(client, "hoankiem.canbo")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert "Tin không chính xác" in page


def test_exercise_is_visibly_different_everywhere(client, db):
    alert_id = ui_submitted(client, mode="Exercise")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert "DIỄN TẬP" in page and "drill-banner" in page
    switch(client, "hanoi.duyet")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert "không liên hệ người dân nào" in page and "cảnh báo THẬT" not in page
    assert "diễn tập" in client.get("/admin/warnings/queue").get_data(as_text=True).lower()
    live = submitted_as(client, db)
    page = client.get(f"/admin/warnings/{live}").get_data(as_text=True)
    assert "cảnh báo THẬT" in page and "drill-banner" not in page


def submitted_as(client, db) -> int:
    """Sign out, draft and submit as the Hoàn Kiếm officer, then sign in as the approver."""
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    alert_id = ui_submitted(client)
    switch(client, "hanoi.duyet")
    return alert_id


def test_image_upload_is_checked_by_its_bytes(client, db):
    sign_in(client, "hoankiem.canbo")
    token = csrf_token(client, "/admin/warnings/new")
    bad = dict(ui_form(), csrf_token=token, image=(__import__("io").BytesIO(b"<script>"), "x.png"))
    response = client.post("/admin/warnings/new", data=bad, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "PNG, JPEG hoặc WebP" in response.get_data(as_text=True)
    good = dict(ui_form(), csrf_token=token, image=(__import__("io").BytesIO(PNG), "anh.png"))
    response = client.post("/admin/warnings/new", data=good, content_type="multipart/form-data")
    assert response.status_code == 302
    alert = store.list_alerts(db, None)[0]
    image = client.get(f"/admin/warnings/images/{alert.content.image}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG


def test_region_picker_lists_communes_with_counts_inside_jurisdiction(client):
    sign_in(client, "hanoi.canbo")
    communes = client.get("/admin/regions?parent=01").get_json()["results"]
    assert len(communes) == 126 and all(r["communes"] == 1 for r in communes)
    province = client.get("/admin/regions?q=ha noi").get_json()["results"][0]
    assert province["code"] == "01" and province["communes"] == 126
    assert client.get("/admin/regions?parent=48").get_json()["results"] == []


def test_list_filters_by_status_and_scope(client, db):
    alert_id = ui_draft(client)
    assert f"/admin/warnings/{alert_id}" in client.get("/admin/warnings/").get_data(as_text=True)
    published = client.get("/admin/warnings/?show=published").get_data(as_text=True)
    assert f"/admin/warnings/{alert_id}" not in published
    switch(client, "haichau.canbo")
    assert f"/admin/warnings/{alert_id}" not in client.get("/admin/warnings/?show=all").get_data(
        as_text=True
    )


def test_the_approver_is_warned_when_the_sms_would_carry_no_advice(client, db):
    alert_id = ui_submitted(client, instruction="Công an phường Hoàn Kiếm khuyến cáo người dân:")
    switch(client, "hanoi.duyet")
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    preview = page[page.index('class="preview preview-sms"') :]
    preview = preview[: preview.index("</article>")]
    assert "⚠ Tin SMS không có lời khuyến cáo" in preview


def test_a_phone_added_in_an_update_is_saved_shown_in_the_diff_and_looked_up(client, db):
    """Seen: "Thêm số điện thoại ..." said "saved" and kept the old numbers."""
    alert_id = ui_submitted(client)
    switch(client, "hanoi.duyet")
    ui_approve(client, db, alert_id)
    assert store.get_alert(db, alert_id).status == Status.PUBLISHED
    switch(client, "hoankiem.canbo")
    started = ui_act(client, alert_id, "update")
    new_id = int(started.headers["Location"].rstrip("/").split("/")[-2])
    phones = "0912 345 678\n+84 91 234 5678\n0987 654 321"
    edited = post_form(client, f"/admin/warnings/{new_id}/edit", ui_form(phones=phones, links=""))
    assert edited.status_code == 302
    content = store.get_alert(db, new_id).content
    assert "+84987654321" in content.indicators.phones and content.indicators.links == ()
    ui_act(client, new_id, "submit")
    switch(client, "hanoi.duyet")
    page = client.get(f"/admin/warnings/{new_id}").get_data(as_text=True)
    diff = page[page.index('class="diff"') :]
    assert "+84987654321</ins>" in diff and "vneid-capnhat.com/login</del>" in diff
    ui_approve(client, db, new_id)
    assert store.get_alert(db, new_id).status == Status.PUBLISHED
    found = client.post(
        "/verify/lookup",
        data={"csrf_token": csrf_token(client, "/verify/lookup"), "value": "0987654321"},
    )
    assert store.get_alert(db, new_id).code[:4] in found.get_data(as_text=True)
