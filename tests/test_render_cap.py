"""The CAP renderer: valid against the OASIS CAP 1.2 schema, within Google Public Alerts'
extra rules, and sound whatever an officer typed."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from alerts.models import Level
from alerts.models import Region
from alerts.render import RenderSettings
from alerts.render import cap
from alerts.render import common
from alerts.render.common import event_name
from alerts.warnings.content import WARNING_TYPES
from tests.render_samples import HANOI
from tests.render_samples import HOAN_KIEM
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_refutation
from tests.render_samples import sample_update

DATA = Path(__file__).parent / "data"
NS = {"cap": cap.NAMESPACE}
HOSTILE = (
    '<script>alert(1)</script> & ]]> <!ENTITY x SYSTEM "file:///etc/passwd"> &x;'
    " \u202egnp.exe 👮\u200d♂️ 🇻🇳"
)


def _exercise():
    return sample_message(sample_content(mode="Exercise"))


def _test_mode():
    return sample_message(sample_content(mode="Test"))


def _no_english():
    return sample_message(sample_content(headline_en="", description_en="", instruction_en=""))


def _hostile():
    description = (HOSTILE + "\n") * 60
    return sample_message(
        sample_content(
            headline=HOSTILE,
            description=(description + "x" * 4000)[:4000],
            instruction=HOSTILE,
            headline_en=HOSTILE,
        ),
    )


def _hostile_cancel():
    return replace(sample_cancel(), content=_hostile().content, cancel_reason=HOSTILE)


MESSAGES = {
    "alert": sample_message,
    "update": sample_update,
    "cancel": sample_cancel,
    "exercise": _exercise,
    "test": _test_mode,
    "no_english": _no_english,
    "hostile": _hostile,
    "hostile_cancel": _hostile_cancel,
    "refutation": lambda: sample_message(sample_refutation()),
}


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(DATA / "CAP-v1.2.xsd")


def _xml(message) -> str:
    return cap.render(message, RenderSettings()).parts["xml"]


def _root(message) -> ET.Element:
    return ET.fromstring(_xml(message).encode("utf-8"))


def _text(element: ET.Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_it_is_valid_against_the_oasis_cap_12_schema(schema, name):
    schema.validate(io.BytesIO(_xml(MESSAGES[name]()).encode("utf-8")))


def test_the_schema_catches_what_it_should(schema):
    xml = _xml(sample_message())
    for broken in (
        xml.replace("+07:00</sent>", "Z</sent>"),
        xml.replace("<urgency>Immediate<", "<urgency>Now<"),
        xml.replace("<scope>Public</scope>", ""),
    ):
        with pytest.raises(xmlschema.XMLSchemaValidationError):
            schema.validate(io.BytesIO(broken.encode("utf-8")))


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_it_meets_google_public_alerts_rules(name):
    root = _root(MESSAGES[name]())
    infos = root.findall("cap:info", NS)
    assert infos
    for info in infos:
        assert 0 < len(_text(info, "cap:event")) < 35
        assert _text(info, "cap:expires")
        assert _text(info, "cap:description")
        areas = info.findall("cap:area", NS)
        assert areas
        for area in areas:
            assert 0 < len(_text(area, "cap:areaDesc")) < 50
        for field in ("urgency", "severity", "certainty"):
            assert _text(info, f"cap:{field}") not in (None, "", "Unknown")


def test_every_warning_type_has_an_event_name_google_accepts():
    for kind in WARNING_TYPES:
        for english in (False, True):
            assert 0 < len(event_name(kind, english)) < cap.EVENT_LIMIT


def test_it_matches_the_golden_document():
    golden = (DATA / "golden" / "cap_alert.xml").read_text(encoding="utf-8")
    assert _xml(sample_message()) == golden


def test_times_carry_the_explicit_vietnam_offset():
    xml = _xml(sample_update())
    root = ET.fromstring(xml.encode("utf-8"))
    assert _text(root, "cap:sent") == "2026-12-02T09:00:00+07:00"
    assert _text(root, "cap:info/cap:expires") == "2026-12-08T08:30:00+07:00"
    assert _text(root, "cap:references").endswith(",2026-12-01T08:30:00+07:00")
    assert not re.search(r"\d\dZ\b", xml)


def test_an_update_and_a_cancel_reference_the_earlier_message():
    expected = (
        "ca-00070@canhbao.bocongan.gov.vn,canhbao.bocongan.gov.vn:7.1,2026-12-01T08:30:00+07:00"
    )
    for message in (sample_update(), sample_cancel()):
        root = _root(message)
        assert _text(root, "cap:msgType") == message.msg_type
        assert _text(root, "cap:references") == expected
    assert _root(sample_message()).find("cap:references", NS) is None


def test_several_references_are_separated_by_whitespace():
    first = sample_update()
    third = replace(first, references=first.references * 2)
    triples = _text(_root(third), "cap:references").split()
    assert len(triples) == 2 and all(len(t.split(",")) == 3 for t in triples)


def test_a_cancel_carries_its_reason():
    root = _root(sample_cancel())
    assert "Thông tin chưa chính xác, đã xác minh lại." in _text(root, "cap:note")
    info = root.find("cap:info", NS)
    assert _text(info, "cap:responseType") == "AllClear"
    assert _text(info, "cap:headline").startswith("HỦY CẢNH BÁO: ")
    assert "Thông tin chưa chính xác" in _text(info, "cap:description")


@pytest.mark.parametrize(
    ("maker", "status", "mark"),
    [(_exercise, "Exercise", "DIỄN TẬP"), (_test_mode, "Test", "THỬ NGHIỆM")],
)
def test_a_drill_has_its_status_and_says_so(maker, status, mark):
    root = _root(maker())
    assert _text(root, "cap:status") == status
    assert mark in _text(root, "cap:note")
    assert _text(root, "cap:info/cap:headline").startswith(f"[{mark}] ")


def test_a_live_alert_is_actual_without_note():
    root = _root(sample_message())
    assert _text(root, "cap:status") == "Actual"
    assert root.find("cap:note", NS) is None


def test_english_info_only_when_english_text_is_set():
    languages = [_text(i, "cap:language") for i in _root(sample_message()).findall("cap:info", NS)]
    assert languages == ["vi-VN", "en-US"]
    languages = [_text(i, "cap:language") for i in _root(_no_english()).findall("cap:info", NS)]
    assert languages == ["vi-VN"]


def test_the_description_lists_defanged_indicators_and_the_verification_line():
    info = _root(sample_message()).find("cap:info", NS)
    description = _text(info, "cap:description")
    assert "+84912345678" in description
    assert "Vietcombank 0123456789" in description
    assert "vneid-capnhat[.]com/login" in description
    assert "vneid-capnhat.com" not in description
    assert description.endswith(
        "Mã xác thực: K7M4-XQ2P — kiểm tra tại https://canhbao.bocongan.gov.vn/a/K7M4XQ2P"
    )
    assert _text(info, "cap:web") == "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P"
    assert _text(info, "cap:responseType") == "Avoid"


def test_each_region_is_an_area_with_its_code_and_the_dated_scheme():
    nation = Region("vn", Level.NATION, "Việt Nam", "quốc gia", None)
    message = sample_message(regions=(nation, HANOI, HOAN_KIEM))
    info = _root(message).find("cap:info", NS)
    areas = info.findall("cap:area", NS)
    assert [_text(a, "cap:areaDesc") for a in areas] == [
        "Việt Nam",
        "Thành phố Hà Nội",
        "Phường Hoàn Kiếm",
    ]
    assert [_text(a, "cap:geocode/cap:valueName") for a in areas] == ["VN-ADMIN-2025"] * 3
    assert [_text(a, "cap:geocode/cap:value") for a in areas] == ["vn", "01", "00070"]
    assert _text(info, "cap:parameter/cap:valueName") == "VN-ADMIN-2025-VERSION"
    assert _text(info, "cap:parameter/cap:value") == message.map_version
    assert cap.render(message, RenderSettings()).counts["areas"] == 3


def test_a_long_area_name_is_shortened_with_a_note(schema):
    name = "Phường " + "Rất Dài Tên " * 6
    region = Region("99999", Level.COMMUNE, name, "Phường", "01")
    rendering = cap.render(sample_message(regions=(region,)), RenderSettings())
    root = ET.fromstring(rendering.parts["xml"].encode("utf-8"))
    desc = _text(root, "cap:info/cap:area/cap:areaDesc")
    assert len(desc) < 50 and desc.endswith("…") and name.startswith(desc[:-1])
    text, params = rendering.notes[0]
    assert "%(name)s" in text and params["name"] == name
    schema.validate(io.BytesIO(rendering.parts["xml"].encode("utf-8")))


def test_hostile_text_is_escaped_and_round_trips(schema):
    message = _hostile()
    xml = _xml(message)
    assert "<script>" not in xml and "<!ENTITY" not in xml and "<!DOCTYPE" not in xml
    info = ET.fromstring(xml.encode("utf-8")).find("cap:info", NS)
    assert _text(info, "cap:headline") == HOSTILE
    assert _text(info, "cap:instruction") == HOSTILE
    assert _text(info, "cap:description").startswith(message.content.description)


def test_characters_xml_cannot_carry_are_dropped(schema):
    dirty = "A\x00B\x0bC\x1bD\ud800E\ufffeF\uffffG\x85H\tI"
    content = sample_content(headline=dirty, description=f"{dirty}\r\nline")
    xml = _xml(sample_message(content))
    schema.validate(io.BytesIO(xml.encode("utf-8")))
    info = ET.fromstring(xml.encode("utf-8")).find("cap:info", NS)
    assert _text(info, "cap:headline") == "ABCDEFGH\tI"
    assert _text(info, "cap:description").startswith("ABCDEFGH\tI\nline\n")


def test_it_refuses_identifiers_that_would_break_references():
    for bad in ("a b", "a,b", "a<b", "a&b", ""):
        with pytest.raises(ValueError):
            cap.render(sample_message(identifier=bad), RenderSettings())


def test_the_self_check_refuses_broken_or_dtd_bearing_xml():
    tag = f"{{{cap.NAMESPACE}}}alert"
    for bad in (
        '<!DOCTYPE a [<!ENTITY x "y">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">',
        "<alert/>",
    ):
        with pytest.raises(ValueError):
            common.parse_checked(bad, tag)


def test_shorten_cuts_between_words_within_the_limit():
    assert common.shorten("short", 35, "…") == "short"
    long = "một hai ba bốn năm sáu bảy tám chín mười mười một"
    short = common.shorten(long, 19, "…")
    assert len(short) < 20 and short == "một hai ba bốn năm…"
    assert len(common.shorten("x" * 80, 49, "…")) < 50


def test_counts_are_those_of_the_document():
    rendering = cap.render(sample_message(), RenderSettings())
    xml = rendering.parts["xml"]
    assert rendering.media_type == "application/cap+xml"
    assert rendering.counts["bytes"] == len(xml.encode("utf-8"))
    assert rendering.counts["characters"] == len(xml)
    assert rendering.counts["languages"] == 2
    assert rendering.notes == ()
