"""A commune named in a chat or an SMS: by code, by name with or without diacritics."""

from alerts.residents.places import communes_named


def test_a_code_names_one_commune(db):
    assert [r.name for r in communes_named(db, "00070")] == ["Phường Hoàn Kiếm"]
    assert [r.code for r in communes_named(db, "70")] == ["00070"]


def test_a_name_without_diacritics_or_its_kind_names_the_commune(db):
    for text in ("hoan kiem", "Phường Hoàn Kiếm", "PHUONG HOAN KIEM", " hoàn   kiếm "):
        assert [r.code for r in communes_named(db, text)] == ["00070"], text


def test_a_province_code_or_nonsense_names_no_commune(db):
    assert communes_named(db, "01") == []  # a province, not a commune
    assert communes_named(db, "99999") == []
    assert communes_named(db, "zzzz qqq") == []
    assert communes_named(db, "   ") == []


def test_a_name_shared_by_several_communes_offers_candidates(db):
    found = communes_named(db, "an")  # a prefix of hundreds of names
    assert 1 < len(found) <= 5


def test_within_a_province_keeps_to_it(db):
    assert communes_named(db, "00070", within="79") == []
    assert [r.code for r in communes_named(db, "hoan kiem", within="01")] == ["00070"]
