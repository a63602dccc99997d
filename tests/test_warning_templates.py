"""Warning templates: built-ins ship with the code; unit admins add their own for the units
they manage, and a template is offered down the hierarchy, never sideways."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import timedelta

import pytest

from alerts import seed
from alerts.clock import utcnow
from alerts.errors import Forbidden
from alerts.errors import Invalid
from alerts.errors import NotFound
from alerts.staff import users as staff
from alerts.store import audit as audit_store
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from alerts.warnings import content
from alerts.warnings import warning_templates as wt
from tests.conftest import acting_as
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.conftest import sign_in_first_time

NEW_PASSWORD = "a long enough passphrase"
SHIPPED = {
    "gia-danh-co-quan-phap-luat",
    "vneid-cap-nhat-du-lieu",
    "vay-tien-online",
    "dau-tu-tai-chinh-tien-ao",
    "viec-lam-gia-lam-nhiem-vu",
    "deepfake-goi-video",
    "gia-danh-giao-hang",
    "tin-nhan-gia-mao-ngan-hang",
}
FIELDS = {
    "warning_type": "scam_phone",
    "category": "Security",
    "severity": "Moderate",
    "urgency": "Expected",
    "certainty": "Observed",
    "headline": "Cảnh báo thủ đoạn giả danh nhân viên điện lực gọi điện đòi tiền điện",
    "description": "Đối tượng gọi điện tự xưng nhân viên điện lực, báo sắp cắt điện.",
    "instruction": "Không chuyển tiền, không bấm đường link. Gọi 113 hoặc [số điện thoại].",
}


def _make_admin(db, username: str, unit_code: str) -> None:
    staff.create_user(
        db,
        acting_as(db, "bo.admin"),
        username=username,
        full_name="Quản trị",
        unit_code=unit_code,
        roles=["admin"],
        password=NEW_PASSWORD,
    )


def _create(db, unit_code: str, name: str, username: str = "bo.admin", **changes) -> int:
    return wt.create_template(
        db, acting_as(db, username), unit_code=unit_code, name=name, fields={**FIELDS, **changes}
    )


def _audit(db, template_id: int) -> list[tuple[str, str, dict]]:
    rows = db.execute(
        "SELECT action, actor, detail FROM audit_log WHERE object = ? ORDER BY id",
        [f"template:{template_id}"],
    )
    return [(action, actor, json.loads(detail)) for action, actor, detail in rows]


def _count(db) -> int:
    return db.execute("SELECT count(*) FROM warning_templates").fetchone()[0]


def _has_error(page: str, name: str) -> bool:
    return re.search(rf'<div class="field has-error">\s*<label for="{name}"', page) is not None


def _offered(db, username: str) -> set[int]:
    return {t.id for t in wt.available(db, acting_as(db, username))}


def test_builtins_are_loaded_valid_and_each_makes_a_valid_draft(db):
    found = wt.builtins(db)
    assert len(found) >= 8 and SHIPPED <= {t.slug for t in found}
    unit = unit_store.get_unit_by_code(db, "ca-01")
    expires = (utcnow() + timedelta(days=7)).isoformat()
    for t in found:
        assert t.builtin and t.active and 1 <= len(t.name) <= wt.NAME_MAX
        assert set(t.fields) == set(wt.FIELDS)
        for name, allowed in wt.CHOICES.items():
            assert t.fields[name] in allowed, (t.slug, name)
        for name in wt.TEXTS:
            value = t.fields[name]
            assert value and len(value) <= content.LIMITS[name.removesuffix("_en")], (t.slug, name)
            assert unicodedata.is_normalized("NFC", value), (t.slug, name)
        assert wt.check_fields(t.fields) == t.fields
        assert "[tên đơn vị]" in wt.placeholders(t.fields)
        draft = {**t.fields, "regions": ["01"], "channels": ["zalo"], "expires_at": expires}
        content.parse_content(
            draft,
            unit=unit,
            find_region=lambda code: region_store.get_region(db, code),
            official_domains=("gov.vn",),
            now=utcnow(),
        )


def test_reloading_the_builtins_is_idempotent_and_follows_the_file(db):
    loads = audit_store.count_actions(db, "template.builtin_load")
    count = _count(db)
    assert wt.load_builtin(db) == []
    assert seed.load_reference_data(db) is False
    assert _count(db) == count and audit_store.count_actions(db, "template.builtin_load") == loads
    # A stale or disabled copy is restored; a built-in no longer shipped is retired.
    db.execute(
        "UPDATE warning_templates SET name = 'cũ', active = 0 WHERE slug = 'vay-tien-online'"
    )
    db.execute(
        "INSERT INTO warning_templates (slug, name, fields, updated_at)"
        " VALUES ('da-bo', 'Mẫu cũ', '{}', '2025-01-01T00:00:00+00:00')"
    )
    assert wt.load_builtin(db) == ["vay-tien-online", "da-bo"]
    assert {t.slug for t in wt.builtins(db)} == SHIPPED
    assert wt.load_builtin(db) == []
    assert audit_store.count_actions(db, "template.builtin_load") == loads + 1


def test_a_template_is_offered_down_the_hierarchy_never_sideways(db):
    hanoi = _create(db, "ca-01", "Mẫu Hà Nội")
    commune = _create(db, "ca-00070", "Mẫu Hoàn Kiếm")
    ministry = _create(db, "bca", "Mẫu của Bộ")
    builtin_ids = {t.id for t in wt.builtins(db)}
    assert _offered(db, "hoankiem.canbo") == builtin_ids | {hanoi, commune, ministry}
    assert _offered(db, "hanoi.canbo") == builtin_ids | {hanoi, ministry}
    assert _offered(db, "haichau.canbo") == builtin_ids | {ministry}
    assert wt.get_available(db, acting_as(db, "hoankiem.canbo"), hanoi).name == "Mẫu Hà Nội"
    with pytest.raises(NotFound):
        wt.get_available(db, acting_as(db, "haichau.canbo"), hanoi)
    wt.set_active(db, acting_as(db, "bo.admin"), hanoi, False)
    assert hanoi not in _offered(db, "hoankiem.canbo")
    with pytest.raises(NotFound):
        wt.get_available(db, acting_as(db, "hoankiem.canbo"), hanoi)


def test_the_domain_checks_role_and_cleans_text(db):
    with pytest.raises(Forbidden):
        _create(db, "ca-01", "Mẫu", username="hanoi.canbo")
    with pytest.raises(Forbidden):
        wt.managed(db, acting_as(db, "hanoi.duyet"))
    decomposed = unicodedata.normalize("NFD", "  Mẫu   điện lực ")
    template_id = _create(db, "ca-01", decomposed, headline=unicodedata.normalize("NFD", "Tiêu đề"))
    template, _unit = wt.managed_template(db, acting_as(db, "bo.admin"), template_id)
    assert template.name == "Mẫu điện lực" and template.fields["headline"] == "Tiêu đề"
    assert template.fields["headline_en"] == ""
    with pytest.raises(Invalid) as refused:
        wt.check_fields({**FIELDS, "mode": "Actual", "headline_en": "Only a headline"})
    problems = {(p.field, p.message) for p in refused.value.problems}
    assert problems == {
        (None, "Unknown field: %(name)s"),
        ("description_en", "English text needs a description and an instruction too."),
    }
    # Saving without a change writes nothing, not even an audit entry.
    wt.update_template(
        db,
        acting_as(db, "bo.admin"),
        template_id,
        unit_code="ca-01",
        name="Mẫu điện lực",
        fields=template.fields,
    )
    assert [a for a, _, _ in _audit(db, template_id)] == ["template.create"]


def test_an_admin_creates_edits_and_withdraws_a_template_in_the_ui(app, db):
    _make_admin(db, "hanoi.admin", "ca-01")
    client = app.test_client()
    sign_in_first_time(client, "hanoi.admin", NEW_PASSWORD)
    data = {"name": "Giả danh điện lực", "unit": "ca-00070", **FIELDS}
    assert post_form(client, "/admin/templates/new", data).status_code == 302
    [template] = wt.managed(db, acting_as(db, "hanoi.admin"))
    assert template.unit_id == unit_store.get_unit_by_code(db, "ca-00070").id
    assert template.fields["headline"] == FIELDS["headline"]
    listed = html.unescape(client.get("/admin/templates").get_data(as_text=True))
    assert "Giả danh điện lực" in listed and "Tin nhắn giả mạo ngân hàng" in listed

    url = f"/admin/templates/{template.id}"
    edited = {**data, "unit": "ca-01", "severity": "Severe"}
    assert post_form(client, url, edited).status_code == 302
    saved, unit = wt.managed_template(db, acting_as(db, "hanoi.admin"), template.id)
    assert (saved.fields["severity"], unit.code) == ("Severe", "ca-01")
    off = post_form(client, f"{url}/active", {"active": "0"}, form_page=url)
    assert off.status_code == 302
    assert template.id not in _offered(db, "hoankiem.canbo")
    assert post_form(client, f"{url}/active", {"active": "1"}, form_page=url).status_code == 302
    assert template.id in _offered(db, "hoankiem.canbo")

    entries = _audit(db, template.id)
    assert [(a, who) for a, who, _ in entries] == [
        ("template.create", "hanoi.admin"),
        ("template.update", "hanoi.admin"),
        ("template.deactivate", "hanoi.admin"),
        ("template.activate", "hanoi.admin"),
    ]
    assert entries[1][2] == {"unit": "ca-00070 -> ca-01", "fields": ["severity"]}


def test_a_builtin_is_copied_into_a_new_template(client, db):
    sign_in(client, "bo.admin")
    builtin = next(t for t in wt.builtins(db) if t.slug == "gia-danh-co-quan-phap-luat")
    page = client.get(f"/admin/templates/new?from={builtin.id}")
    assert page.status_code == 200
    assert builtin.fields["headline"] in html.unescape(page.get_data(as_text=True))
    assert client.get(f"/admin/templates/{builtin.id}").status_code == 404  # read-only
    assert client.get("/admin/templates/new?from=999999").status_code == 404


def test_officers_get_403(client, db):
    template_id = _create(db, "ca-00070", "Mẫu Hoàn Kiếm")
    sign_in(client, "hoankiem.canbo")
    for path in ("/admin/templates", "/admin/templates/new", f"/admin/templates/{template_id}"):
        assert client.get(path).status_code == 403
    data = {"name": "Mẫu của cán bộ", "unit": "ca-00070", **FIELDS}
    assert post_form(client, "/admin/templates/new", data, form_page="/admin/").status_code == 403
    assert _count(db) == len(wt.builtins(db)) + 1


def test_an_admin_of_another_province_gets_404(app, db):
    template_id = _create(db, "ca-01", "Mẫu Hà Nội")
    _make_admin(db, "danang.admin", "ca-48")
    client = app.test_client()
    sign_in_first_time(client, "danang.admin", NEW_PASSWORD)
    url = f"/admin/templates/{template_id}"
    data = {"name": "Đổi tên", "unit": "ca-48", **FIELDS}
    assert client.get(url).status_code == 404
    assert post_form(client, url, data, form_page="/admin/templates").status_code == 404
    off = post_form(client, f"{url}/active", {"active": "0"}, form_page="/admin/templates")
    assert off.status_code == 404
    assert client.get(f"/admin/templates/new?from={template_id}").status_code == 404
    assert "Mẫu Hà Nội" not in client.get("/admin/templates").get_data(as_text=True)
    refused = post_form(client, "/admin/templates/new", {**data, "unit": "ca-01"})
    assert refused.status_code == 400 and _has_error(refused.get_data(as_text=True), "unit")
    template, _unit = wt.managed_template(db, acting_as(db, "bo.admin"), template_id)
    assert template.name == "Mẫu Hà Nội" and template.active
    assert [a for a, _, _ in _audit(db, template_id)] == ["template.create"]


def test_invalid_fields_are_refused_next_to_the_field_and_nothing_is_stored(client, db):
    sign_in(client, "bo.admin")
    post_form(
        client,
        "/lang",
        {"lang": "en", "next": "/admin/templates/new"},
        form_page="/admin/templates/new",
    )
    count = _count(db)
    audited = len(audit_store.recent(db, limit=1000))
    bad = {
        **FIELDS,
        "name": " ",
        "unit": "ca-99999",
        "headline": "x" * 161,
        "severity": "Unknown",
        "instruction": "\u200b",
    }
    response = post_form(client, "/admin/templates/new", bad)
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    for name in ("name", "unit", "headline", "severity", "instruction"):
        assert _has_error(page, name), name
    assert "At most 160 characters (now 161)." in page
    assert "Choose one of: Extreme, Severe, Moderate, Minor." in page
    assert _count(db) == count and len(audit_store.recent(db, limit=1000)) == audited
