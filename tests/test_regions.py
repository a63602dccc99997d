"""The 2025 map and the police units bound to it."""

from __future__ import annotations

from alerts import regions
from alerts.store import regions as region_store
from alerts.store import units as unit_store
from tests.conftest import sign_in


def test_map_has_34_provinces_and_3321_communes(db):
    assert region_store.count_by_level(db) == {"nation": 1, "province": 34, "commune": 3321}
    assert unit_store.count_units(db) == 3356


def test_codes_are_zero_padded_official_codes(db):
    assert region_store.get_region(db, "01").name == "Thành phố Hà Nội"
    assert region_store.get_region(db, "48").name == "Thành phố Đà Nẵng"
    assert region_store.get_region(db, "04").name == "Tỉnh Cao Bằng"
    hoan_kiem = region_store.get_region(db, "00070")
    assert (hoan_kiem.name, hoan_kiem.parent_code) == ("Phường Hoàn Kiếm", "01")
    assert region_store.get_region(db, "20242").name == "Phường Hải Châu"
    assert region_store.get_region(db, "70") is None


def test_every_unit_has_its_region_and_parent(db):
    ministry = unit_store.get_unit_by_code(db, "bca")
    hanoi = unit_store.get_unit_by_code(db, "ca-01")
    hoan_kiem = unit_store.get_unit_by_code(db, "ca-00070")
    assert ministry.name == "Bộ Công an" and ministry.parent_id is None
    assert (hanoi.name, hanoi.parent_id) == ("Công an thành phố Hà Nội", ministry.id)
    assert (hoan_kiem.name, hoan_kiem.parent_id) == ("Công an phường Hoàn Kiếm", hanoi.id)
    orphans = db.execute("SELECT count(*) FROM units WHERE parent_id IS NULL").fetchone()[0]
    assert orphans == 1
    assert unit_store.count_child_units(db, ministry.id) == 34


def test_search_ignores_diacritics_and_case(db):
    assert [r.code for r in region_store.search_regions(db, "hoan kiem")] == ["00070"]
    assert region_store.search_regions(db, "da nang")[0].code == "48"
    assert region_store.search_regions(db, "HẢI CHÂU")[0].code == "20242"
    assert region_store.search_regions(db, "Phường Hoàn Kiếm")[0].code == "00070"
    assert region_store.search_regions(db, "%") == []


def test_search_within_a_province(db):
    found = region_store.search_regions(db, "hai chau", within="01")
    assert all(r.parent_code == "01" or r.code == "01" for r in found)
    assert "20242" not in [r.code for r in found]


def test_map_version_is_recorded_and_shown(client, db):
    version = region_store.get_meta(db, "map_version")
    assert version == regions.map_version() and "2025.10" in version
    sign_in(client, "bo.canbo")
    assert version in client.get("/admin/unit").get_data(as_text=True)
    assert client.get("/healthz").json["map_version"] == version


def test_region_search_endpoint_is_scoped_to_jurisdiction(client):
    sign_in(client, "hanoi.canbo")
    assert client.get("/admin/regions?q=hoan kiem").json["results"][0]["code"] == "00070"
    assert client.get("/admin/regions?q=hai chau").json["results"] == []
    assert client.get("/admin/regions?q=" + "x" * 500).status_code == 400
