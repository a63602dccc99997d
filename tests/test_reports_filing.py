"""Filing a report (issue 16): routing, indicators, references, validation, screenshots,
privacy of the contact, caps, withdrawal and the retention purge, on a real database."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from PIL import Image

from alerts.clock import utcnow
from alerts.errors import Invalid
from alerts.errors import NotFound
from alerts.reports import filing
from alerts.reports import screenshots
from alerts.reports.shown import defang
from alerts.reports.shown import defang_text
from alerts.residents.limits import TooMany
from alerts.security import vault
from tests.builders import create

EMAIL = "nguyen.van.an@example.vn"
GPS_TAG = 0x8825
EXIF_MAKE = 0x010F


@pytest.fixture
def config(app):
    return app.config


def report(db, config, **changes):
    """File a valid portal report for Phường Hoàn Kiếm, with the changes given."""
    given = {
        "channel": "portal",
        "kind": "scam_call",
        "region_code": "00070",
        "text": "Có người gọi tự xưng công an phường, đòi mã OTP.",
        "indicators": {"phones": ["0912 345 678"], "links": ["hxxps://vneid-capnhat[.]com/x"]},
        "ip": "203.0.113.7",
        **changes,
    }
    return filing.file_report(db, config, **given)


def photo(fmt: str = "JPEG", size=(3000, 1500), mode="RGB") -> bytes:
    """A real photo with EXIF: the camera's make and a GPS position."""
    image = Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128))
    exif = Image.Exif()
    exif[EXIF_MAKE] = "Canon"
    gps = exif.get_ifd(GPS_TAG)
    gps[1], gps[2] = "N", (21.0, 1.0, 43.0)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def row(db, sql, *params):
    return db.execute(sql, list(params)).fetchone()


def audit_details(db) -> str:
    return json.dumps(db.execute("SELECT action, object, detail, ip FROM audit_log").fetchall())


# --- routing, indicators, references ------------------------------------------------------


def test_a_report_goes_to_the_police_of_its_commune(db, config):
    filed = report(db, config)
    unit_id, origin, status, text = row(
        db, "SELECT unit_id, origin_unit_id, status, text FROM reports WHERE id = ?", filed.id
    )
    assert row(db, "SELECT code FROM units WHERE id = ?", unit_id) == ("ca-00070",)
    assert origin == unit_id and status == "new"
    assert filed.unit_name == "Công an phường Hoàn Kiếm" and filed.region_name == "Phường Hoàn Kiếm"
    assert text == "Có người gọi tự xưng công an phường, đòi mã OTP."


def test_indicators_are_stored_with_the_same_key_as_a_warnings(db, config):
    warning_id = create(db)  # the builder's draft lists the same phone and link
    filed = report(db, config, indicators={
        "phones": ["+84 912-345-678", "0912345678"],
        "accounts": ["Vietcombank: 0123 456 789"],
        "links": ["HTTP://WWW.Vneid-Capnhat.com/x"],
    })  # fmt: skip
    reported = db.execute(
        "SELECT kind, value, key FROM report_indicators WHERE report_id = ? ORDER BY kind",
        [filed.id],
    ).fetchall()
    assert reported == [
        ("account", "Vietcombank 0123456789", "0123456789"),
        ("link", "http://www.vneid-capnhat.com/x", "vneid-capnhat.com"),
        ("phone", "+84912345678", "+84912345678"),
    ]
    warned = set(
        db.execute(
            "SELECT kind, key FROM warning_indicators WHERE warning_id = ?", [warning_id]
        ).fetchall()
    )
    assert {("phone", "+84912345678"), ("link", "vneid-capnhat.com")} <= warned
    assert warned <= {(kind, key) for kind, _value, key in reported}


def test_references_are_short_unambiguous_and_unique(db, config):
    codes = {report(db, config, ip=f"198.51.100.{i}").code for i in range(30)}
    assert len(codes) == 30
    for code in codes:
        assert re.fullmatch(r"BT-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code), code
    one = sorted(codes)[0]
    assert filing.normalise_code(one.lower().replace("-", " ")) == one
    assert filing.normalise_code(one[3:]) == one  # without the prefix
    assert filing.normalise_code("BT-0000-1111") is None


def test_text_is_stored_in_nfc_without_control_characters(db, config):
    filed = report(
        db, config, text="Cu\u0323 ba\u0300 \u202ebi\x07 lu\u031b\u0300a\r\n\r\n\r\n\r\nđảo  "
    )
    (text,) = row(db, "SELECT text FROM reports WHERE id = ?", filed.id)
    assert text == "Cụ bà bi lừa\n\nđảo"


# --- validation ---------------------------------------------------------------------------


def test_every_problem_is_refused_at_once_and_nothing_is_stored(db, config):
    with pytest.raises(Invalid) as caught:
        report(
            db,
            config,
            kind="ransom",
            region_code="01",  # a province, not a commune
            text="   ",
            indicators={"phones": ["12"], "accounts": ["abc"], "links": ["javascript:alert(1)"]},
            contact="not a contact",
            image=b"GIF89a not ours",
        )
    fields = [p.field for p in caught.value.problems]
    assert fields == ["kind", "region", "text", "phones", "accounts", "links", "contact", "image"]
    assert caught.value.problems[0].text == "Choose what happened."
    assert row(db, "SELECT count(*) FROM reports") == (0,)
    assert row(db, "SELECT count(*) FROM report_indicators") == (0,)
    assert "report.filed" not in audit_details(db)


def test_a_text_too_long_and_an_unknown_commune_are_refused(db, config):
    with pytest.raises(Invalid) as caught:
        report(db, config, text="x" * (filing.MAX_TEXT + 1), region_code="99999")
    assert [p.field for p in caught.value.problems] == ["region", "text"]


# --- screenshots --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, mime", [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_a_photo_is_stored_re_encoded_without_its_exif(db, config, fmt, mime):
    original = photo(fmt)
    exif = Image.open(io.BytesIO(original)).getexif()
    assert exif.get(EXIF_MAKE) == "Canon" and exif.get_ifd(GPS_TAG)[1] == "N"
    filed = report(db, config, image=original)
    stored_mime, sealed = row(
        db, "SELECT mime, sealed FROM report_images WHERE report_id = ?", filed.id
    )
    assert stored_mime == mime and filed.has_image
    assert b"Canon" not in sealed  # sealed: the bytes at rest are not the image
    clean = Image.open(io.BytesIO(screenshots.unseal(config, sealed)))
    assert clean.format == fmt
    assert max(clean.size) == screenshots.MAX_SIDE and clean.size == (2000, 1000)
    assert len(clean.getexif()) == 0 and "exif" not in clean.info
    assert not clean.getexif().get_ifd(GPS_TAG)


def test_a_webp_with_transparency_stays_a_webp(db, config):
    filed = report(db, config, image=photo("WEBP", (400, 300), "RGBA"))
    mime, sealed = row(db, "SELECT mime, sealed FROM report_images WHERE report_id = ?", filed.id)
    clean = Image.open(io.BytesIO(screenshots.unseal(config, sealed)))
    assert mime == "image/webp" and clean.size == (400, 300) and "exif" not in clean.info


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<script>alert(1)</script>", "The screenshot must be a PNG, JPEG or WebP image."),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "The screenshot cannot be read: send another image."),
        (b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "The screenshot is larger than 5 MB."),
    ],
)
def test_a_non_image_a_broken_one_or_an_oversized_one_is_refused(db, config, data, message):
    with pytest.raises(Invalid) as caught:
        report(db, config, image=data)
    assert [(p.field, p.text) for p in caught.value.problems] == [("image", message)]
    assert row(db, "SELECT count(*) FROM reports") == (0,)


def test_an_image_claiming_another_type_is_refused():
    with pytest.raises(Exception) as caught:
        screenshots.clean(b"\x89PNG\r\n\x1a\n" + photo("JPEG", (10, 10)))
    assert caught.value.field == "image"


# --- the contact ----------------------------------------------------------------------------


def test_the_contact_is_sealed_masked_and_never_logged_or_audited(db, config, caplog):
    caplog.set_level(logging.DEBUG)
    by_mail = report(db, config, contact=f"  {EMAIL.upper()} ")
    by_phone = report(db, config, contact="0987 654 321", ip="203.0.113.8")
    assert by_mail.contact_masked == "n***@example.vn"
    assert by_phone.contact_masked == "+84******321"
    sealed, masked = row(
        db, "SELECT contact_sealed, contact_masked FROM reports WHERE id = ?", by_mail.id
    )
    assert masked == "n***@example.vn" and EMAIL.encode() not in sealed
    assert filing.reveal_contact(config, sealed) == filing.Contact("email", EMAIL)
    (sealed,) = row(db, "SELECT contact_sealed FROM reports WHERE id = ?", by_phone.id)
    assert vault.unseal(config, sealed) == {"channel": "sms", "address": "+84987654321"}
    details = audit_details(db)
    assert "report.filed" in details and by_mail.code in details
    for secret in (EMAIL, "nguyen", "987654321", "987 654 321", "đòi mã OTP"):
        assert secret not in details
        assert secret not in caplog.text


def test_a_chat_report_is_answered_on_its_channel(db, config):
    filed = report(db, config, channel="telegram", contact="123456789", ip=None)
    channel, sealed = row(db, "SELECT channel, contact_sealed FROM reports WHERE id = ?", filed.id)
    assert channel == "telegram" and filed.contact_masked == "12***89"
    assert filing.reveal_contact(config, sealed) == filing.Contact("telegram", "123456789")


def test_no_contact_is_allowed_on_the_portal(db, config):
    filed = report(db, config, contact="")
    assert filed.contact_masked is None
    assert row(db, "SELECT contact_sealed FROM reports WHERE id = ?", filed.id) == (None,)


# --- caps -------------------------------------------------------------------------------------


def test_one_contact_files_at_most_its_daily_reports(db, config):
    for i in range(filing.PER_CONTACT):
        report(db, config, contact=EMAIL, ip=f"198.51.100.{i}")
    with pytest.raises(TooMany):
        report(db, config, contact=EMAIL.upper(), ip="198.51.100.200")
    report(db, config, contact="other@example.vn", ip="198.51.100.201")  # others go on
    later = utcnow() + timedelta(hours=25)
    report(db, config, contact=EMAIL, ip="198.51.100.202", now=later)
    assert row(db, "SELECT count(*) FROM reports") == (filing.PER_CONTACT + 2,)


def test_one_network_files_at_most_its_hourly_reports(db, config):
    for _ in range(filing.PER_NETWORK):
        report(db, config)
    with pytest.raises(TooMany) as caught:
        report(db, config)
    assert caught.value.status == 429
    report(db, config, ip="203.0.113.99")
    report(db, config, now=utcnow() + timedelta(minutes=61))
    assert row(db, "SELECT count(*) FROM reports") == (filing.PER_NETWORK + 2,)


# --- withdrawal and retention -----------------------------------------------------------------


def test_withdrawing_drops_the_contact_and_the_screenshot(db, config):
    filed = report(db, config, contact=EMAIL, image=photo("PNG", (50, 50)))
    done = filing.withdraw(db, filed.code.lower(), ip="203.0.113.50")
    assert done == filing.Withdrawn(filed.code, already=False)
    assert row(
        db, "SELECT status, contact_sealed, contact_masked FROM reports WHERE id = ?", filed.id
    ) == ("withdrawn", None, None)
    assert row(db, "SELECT count(*) FROM report_images") == (0,)
    assert filing.withdraw(db, filed.code).already
    entries = db.execute("SELECT object, detail FROM audit_log WHERE action = 'report.withdrawn'")
    assert [(o, json.loads(d)) for o, d in entries] == [
        (f"report:{filed.id}", {"code": filed.code})
    ]


def test_an_unknown_reference_is_not_found_and_guessing_is_capped(db, config):
    with pytest.raises(NotFound):
        filing.withdraw(db, "BT-2222-2222", ip="192.0.2.1")
    for _ in range(filing.PER_NETWORK - 1):
        with pytest.raises(NotFound):
            filing.withdraw(db, "not a code", ip="192.0.2.1")
    with pytest.raises(TooMany):
        filing.withdraw(db, "BT-2222-2222", ip="192.0.2.1")


def test_reports_past_retention_are_purged_unless_a_warning_came_from_them(db, config):
    long_ago = utcnow() - timedelta(days=config["REPORT_RETENTION_DAYS"] + 1)
    old = report(db, config, image=photo("PNG", (20, 20)), now=long_ago, ip="192.0.2.10")
    kept = report(db, config, now=long_ago, ip="192.0.2.11")
    fresh = report(db, config, ip="192.0.2.12")
    warning_id = create(db)
    db.execute("UPDATE reports SET warning_id = ? WHERE id = ?", [warning_id, kept.id])
    db.execute("UPDATE reports SET duplicate_of = ? WHERE id = ?", [old.id, fresh.id])
    assert old.purge_after == long_ago + timedelta(days=180)
    assert filing.purge_expired(db) == 1
    remaining = [r for (r,) in db.execute("SELECT id FROM reports ORDER BY id")]
    assert remaining == [kept.id, fresh.id]
    assert row(db, "SELECT count(*) FROM report_images") == (0,)
    assert row(db, "SELECT count(*) FROM report_indicators WHERE report_id = ?", old.id) == (0,)
    assert row(db, "SELECT duplicate_of FROM reports WHERE id = ?", fresh.id) == (None,)
    (detail,) = row(db, "SELECT detail FROM audit_log WHERE action = 'report.purged'")
    assert json.loads(detail) == {"count": 1}
    assert filing.purge_expired(db) == 0


def test_the_retention_is_a_validated_setting():
    from alerts import config as settings

    assert settings.parse_settings({})["REPORT_RETENTION_DAYS"] == 180
    assert settings.parse_settings({"REPORT_RETENTION_DAYS": "30"})["REPORT_RETENTION_DAYS"] == 30
    for bad in ("0", "-1", "ten", "4000"):
        with pytest.raises(settings.ConfigError, match="ALERTS_REPORT_RETENTION_DAYS"):
            settings.parse_settings({"REPORT_RETENTION_DAYS": bad})


# --- how links are shown ----------------------------------------------------------------------


def test_links_are_shown_defanged():
    assert (
        defang("https://vneid-capnhat.com/login?a=1.2") == "hxxps://vneid-capnhat[.]com/login?a=1.2"
    )
    assert defang("vneid.gov.vn.tk") == "vneid[.]gov[.]vn[.]tk"
    text = defang_text("Vào http://a.b.com/x hoặc vneid-capnhat.com, v.v. giá 3.5 triệu")
    assert text == "Vào hxxp://a[.]b[.]com/x hoặc vneid-capnhat[.]com, v.v. giá 3.5 triệu"
