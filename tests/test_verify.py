"""The residents' checks: genuine, altered or not official; the indicator lookup; bad input."""

from __future__ import annotations

import html

import pytest

from alerts.errors import Refused
from alerts.i18n import LANG_COOKIE
from alerts.render import registry
from alerts.residents import links as subscription_tokens
from alerts.residents import verify
from alerts.store import warnings as store
from alerts.warnings import publication
from alerts.warnings import workflow
from alerts.warnings.codes import display
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import create
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.conftest import post_form

# The phone number is in the instruction's first sentence, so the SMS carries it.
INSTRUCTION = "Không gọi lại số 0912 345 678 và không cung cấp mã OTP. Gọi 113 khi nghi ngờ."
CHANNELS = ["sms", "zalo", "telegram", "facebook", "email"]


def published(db, **changes):
    """Publish a Hoàn Kiếm warning (approved by Hà Nội) and return the revision."""
    changes = {"instruction": INSTRUCTION, "channels": CHANNELS, **changes}
    return approve(db, "hanoi.duyet", submitted(db, **changes))


def rendered(db, alert, channel: str, config=CONFIG, msg_type=None, recipient=None) -> str:
    """Return what a channel sent (to a unit's channel, or to the resident ``recipient``), as
    the resident reads it (Telegram's HTML stripped)."""
    message = publication.message_for(db, alert, public_url=config["PUBLIC_URL"], msg_type=msg_type)
    settings = publication.render_settings(config, recipient)
    rendering = registry.RENDERERS[channel](message, settings)
    part = {"facebook": "message"}.get(channel, "text")
    text = rendering.parts[part]
    return verify.plain(text) if channel == "telegram" else text


def check(db, text: str) -> verify.Verification:
    return verify.check(db, text, CONFIG)


# --- genuine -------------------------------------------------------------------------------


def test_a_bare_code_in_any_spelling_is_genuine(db):
    alert = published(db)
    for typed in (
        alert.code,
        display(alert.code),
        display(alert.code).lower(),
        f" {alert.code[:4]} {alert.code[4:]} ",
    ):
        result = check(db, typed)
        assert result.verdict == verify.GENUINE, typed
    assert result.warning.code == alert.code and result.warning.state == "active"
    assert result.warning.issuer == "Công an phường Hoàn Kiếm"
    assert result.warning.approver == "Công an thành phố Hà Nội"
    assert [(s.msg_type, s.valid) for s in result.signatures] == [("Alert", True)]
    assert alert.content.headline in result.original


def test_a_code_with_0_or_1_is_refused_not_read_as_another(db):
    alert = published(db)
    for typo in (alert.code[:7] + "0", display("1" + alert.code[1:])):
        result = check(db, typo)
        assert result.verdict == verify.NOT_OFFICIAL
        assert "never contain 0, 1, O or I" in result.reason and result.params["code"] == typo


def test_the_short_link_with_or_without_scheme_in_any_case_is_genuine(db):
    alert = published(db)
    url = f"{CONFIG['PUBLIC_URL']}/a/{alert.code}"
    for typed in (url, url.removeprefix("https://"), url.upper(), url.lower() + "/"):
        assert check(db, typed).verdict == verify.GENUINE, typed


def test_a_real_code_behind_a_foreign_link_is_altered(db):
    alert = published(db)
    fake = f"https://canhbao-bocongan.com/a/{alert.code}"
    result = check(db, fake)
    assert result.verdict == verify.ALTERED
    assert result.changed == (("link", f"canhbao-bocongan[.]com/a/{alert.code}"),)


def test_the_exact_text_of_each_channel_is_genuine(db):
    alert = published(db)
    for channel in CHANNELS:
        text = rendered(db, alert, channel)
        result = check(db, text)
        assert result.verdict == verify.GENUINE, (channel, text)
    assert check(db, rendered(db, alert, "sms")).channel == "sms"


def test_an_email_with_its_personal_unsubscribe_link_is_genuine(db):
    alert = published(db)
    keyed = {**CONFIG, "SECRET_KEY": "test-secret"}
    text = rendered(db, alert, "email", config=keyed, recipient=7)
    unsubscribe = subscription_tokens.unsubscribe_url(keyed, 7)
    assert unsubscribe in text and verify.check(db, text, keyed).verdict == verify.GENUINE


def test_shortened_or_cut_off_text_is_still_genuine(db):
    alert = published(db)
    zalo = rendered(db, alert, "zalo")
    assert check(db, zalo[: zalo.index("Kiểm tra tại") + 30]).verdict == verify.GENUINE
    sms = rendered(db, alert, "sms").replace("OTP.", "OTP...", 1)
    assert check(db, sms).verdict == verify.GENUINE


def test_a_cancelled_warning_is_genuine_but_no_longer_applies(db):
    alert = published(db)
    sms = rendered(db, alert, "sms")
    workflow.cancel(
        db, acting_as(db, "hanoi.duyet"), alert.id, reason="Tin sai, đã xác minh lại", config=CONFIG
    )
    cancelled = store.get_alert(db, alert.id)
    cancel_sms = rendered(db, cancelled, "sms", msg_type="Cancel")
    for text in (sms, cancel_sms, alert.code):
        result = check(db, text)
        assert result.verdict == verify.GENUINE, text
        assert result.warning.state == "cancelled"
        assert result.warning.cancel_reason == "Tin sai, đã xác minh lại"
    assert [(s.msg_type, s.valid) for s in result.signatures] == [("Alert", True), ("Cancel", True)]


def test_an_updated_warning_points_to_the_newest(db):
    first = published(db)
    second = workflow.start_update(
        db,
        acting_as(db, "hoankiem.canbo"),
        first.id,
        {"headline": "Cập nhật: số mới"},
        config=CONFIG,
    )
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), second, config=CONFIG)
    newest = approve(db, "hanoi.duyet", second)
    result = check(db, rendered(db, store.get_alert(db, first.id), "sms"))
    assert result.verdict == verify.GENUINE
    assert result.warning.state == "updated" and result.warning.newest_code == newest.code
    assert check(db, newest.code).warning.state == "active"


def test_an_exercise_is_genuine_and_says_so(db):
    alert = published(db, mode="Exercise")
    result = check(db, rendered(db, alert, "sms"))
    assert result.verdict == verify.GENUINE and result.warning.mode == "Exercise"


# --- altered -------------------------------------------------------------------------------


def test_a_changed_phone_number_is_altered_and_flagged(db):
    alert = published(db)
    sms = rendered(db, alert, "sms")
    assert "goi lai so 0912 345 678" in sms
    result = check(db, sms.replace("0912 345 678", "0987 654 321"))
    assert result.verdict == verify.ALTERED and result.channel == "sms"
    assert result.changed == (("phone", "0987 654 321"),)
    assert ("added", "0987 654 321") in result.pasted_diff
    assert ("removed", "0912 345 678") in result.original_diff
    assert result.warning.code == alert.code


def test_a_replaced_link_is_altered_and_flagged(db):
    alert = published(db)
    sms = rendered(db, alert, "sms")
    fake = f"https://canhbao-bocongan.com/a/{alert.code}"
    result = check(db, sms.replace(f"{CONFIG['PUBLIC_URL']}/a/{alert.code}", fake))
    assert result.verdict == verify.ALTERED
    assert result.changed == (("link", f"canhbao-bocongan[.]com/a/{alert.code}"),)


def test_a_changed_amount_or_added_line_is_altered(db):
    alert = published(db)
    zalo = rendered(db, alert, "zalo")
    added = zalo + "\nNộp phạt 5.000.000đ vào tài khoản 9704 1234 5678 để được hủy."
    result = check(db, added)
    assert result.verdict == verify.ALTERED
    assert ("number", "5.000.000") in result.changed
    assert any(value == "9704 1234 5678" for _kind, value in result.changed)


def test_dropping_a_leading_no_is_altered(db):
    alert = published(db)
    zalo = rendered(db, alert, "zalo")
    assert check(db, zalo.replace("Không gọi lại", "Gọi lại")).verdict == verify.ALTERED
    sms = rendered(db, alert, "sms")
    assert check(db, sms.replace("Khong goi lai", "Goi lai")).verdict == verify.ALTERED


# --- not official --------------------------------------------------------------------------


def test_a_made_up_code_is_not_official(db):
    published(db)
    result = check(db, "ZZZZ-ZZZZ")
    assert result.verdict == verify.NOT_OFFICIAL and result.params == {"code": "ZZZZ-ZZZZ"}
    assert check(db, "Mã xác thực: ZZZZ-ZZZZ. Bấm vào link để nhận.").verdict == (
        verify.NOT_OFFICIAL
    )


def test_random_text_and_a_fake_page_without_a_code_are_not_official(db):
    alert = published(db)
    assert check(db, "xin chào, hẹn gặp lại ngày mai").verdict == verify.NOT_OFFICIAL
    fake = (
        "BỘ CÔNG AN THÔNG BÁO: tài khoản VNeID của bạn sẽ bị khóa. Cập nhật ngay tại"
        " vneid-capnhat.com/x hoặc gọi 0912 345 678 để được hỗ trợ."
    )
    result = check(db, fake)
    assert result.verdict == verify.NOT_OFFICIAL and "no verification code" in result.reason
    # Its link and number are in a published warning: the answer says so.
    assert [h.code for h in result.mentions] == [alert.code]


# --- lookup --------------------------------------------------------------------------------


def test_lookup_finds_a_phone_in_any_format(db):
    alert = published(db)
    for typed in ("0912 345 678", "+84 912 345 678", "0912.345.678", "84912345678"):
        found = verify.lookup(db, typed, CONFIG)
        assert [h.code for h in found.hits] == [alert.code], typed
        assert found.hits[0].kind == "phone" and found.hits[0].value == "+84912345678"


def test_lookup_finds_an_account_by_digits_and_a_link_by_host(db):
    indicators = {
        "phones": [],
        "accounts": ["Vietcombank 0123 456 789"],
        "links": ["https://vneid-capnhat.com/login?x=1"],
    }
    alert = published(db, indicators=indicators)
    assert [h.code for h in verify.lookup(db, "0123456789", CONFIG).hits] == [alert.code]
    for typed in ("hxxp://vneid-capnhat[.]com", "VNEID-CAPNHAT.COM", "www.vneid-capnhat.com/other"):
        hits = verify.lookup(db, typed, CONFIG).hits
        assert [(h.code, h.kind) for h in hits] == [(alert.code, "link")], typed
    assert verify.lookup(db, "evil.vneid-capnhat.com", CONFIG).hits[0].code == alert.code


def test_lookup_lists_newest_first_and_never_drafts_submitted_or_drills(db):
    older = published(db)
    newer = published(db, headline="Cảnh báo thứ hai về cùng số điện thoại lừa đảo")
    assert [h.code for h in verify.lookup(db, "0912345678", CONFIG).hits] == [
        newer.code,
        older.code,
    ]
    only = {"phones": ["0977 111 222"], "accounts": [], "links": []}
    create(db, indicators=only)
    submitted(db, indicators=only)
    published(db, mode="Exercise", indicators=only)
    assert verify.lookup(db, "0977 111 222", CONFIG).hits == ()


def test_lookup_refuses_what_it_cannot_read(db):
    for value, message in (
        ("", "Enter a phone number"),
        ("x" * 301, "At most 300 characters"),
        ("hello there", "not a phone number"),
    ):
        with pytest.raises(Refused, match=message):
            verify.lookup(db, value, CONFIG)


def test_check_refuses_empty_and_huge_texts(db):
    with pytest.raises(Refused, match="Paste a message"):
        check(db, "  \n ")
    with pytest.raises(Refused, match="longer than 5000 characters"):
        check(db, "a" * 5001)


# --- the page --------------------------------------------------------------------------------


@pytest.fixture
def web(db_path):
    """An English client of an app signing with the key the test warnings were signed with."""
    app = make_app(db_path, SIGNING_KEY=CONFIG["SIGNING_KEY"])
    client = app.test_client()
    client.set_cookie(LANG_COOKIE, "en")
    return app, client


def page(response) -> str:
    assert response.status_code in (200, 422), response.status_code
    return response.get_data(as_text=True)


def test_the_page_answers_genuine_altered_and_not_official(web, db):
    app, client = web
    alert = published(db)
    assert 'name="text"' in page(client.get("/verify"))
    sms = rendered(db, alert, "sms", config=app.config)
    genuine = page(post_form(client, "/verify", {"text": sms}))
    assert "verdict-genuine" in genuine and "signature valid" in genuine
    assert f"/a/{alert.code}" in genuine and "Công an thành phố Hà Nội" in genuine
    altered = page(
        post_form(client, "/verify", {"text": sms.replace("0912 345 678", "0987 654 321")})
    )
    assert "verdict-altered" in altered and "<ins>0987 654 321</ins>" in altered
    assert "<del>0912 345 678</del>" in altered and "<code>0987 654 321</code>" in altered
    unknown = page(client.get("/verify?q=ZZZZ-ZZZZ"))
    assert "verdict-unknown" in unknown and "113" in unknown
    shared = page(client.get(f"/verify?q={app.config['PUBLIC_URL']}/a/{alert.code}"))
    assert "verdict-genuine" in shared


def test_the_page_says_cancelled_and_links_the_newest(web, db):
    _app, client = web
    alert = published(db)
    workflow.cancel(db, acting_as(db, "hanoi.duyet"), alert.id, reason="Nhầm lẫn", config=CONFIG)
    text = page(client.get(f"/verify?q={alert.code}"))
    assert "verdict-genuine" in text and "no longer applies" in text and "Nhầm lẫn" in text
    assert "Cancellation:" in text and text.count("signature valid") == 2
    first = published(db)
    update = workflow.start_update(db, acting_as(db, "hoankiem.canbo"), first.id, config=CONFIG)
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), update, config=CONFIG)
    newest = approve(db, "hanoi.duyet", update)
    text = page(client.get(f"/verify?q={display(first.code)}"))
    assert "a newer version of this warning replaces this one" in text
    assert f'href="/a/{newest.code}"' in text


def test_the_lookup_page_finds_and_warns_that_a_miss_is_not_safe(web, db):
    _app, client = web
    alert = published(db)
    found = page(post_form(client, "/verify/lookup", {"value": "+84 912 345 678"}, "/verify"))
    assert f"/a/{alert.code}" in found and "Found in 1 police warning" in found
    miss = page(client.get("/verify/lookup?q=0999 888 777"))
    assert "Not found in police warnings — that does not make it safe." in miss


def test_bad_input_gets_a_message_escaped_and_nothing_is_stored(web, db):
    _app, client = web
    published(db)
    tables = ("audit_log", "warnings", "signatures", "warning_indicators")
    before = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    huge = post_form(client, "/verify", {"text": "x" * 10_000})
    assert huge.status_code == 422 and "longer than 5000 characters" in page(huge)
    script = "<script>alert('x')</script> Mã xác thực: ZZZZ-ZZZZ"
    answer = page(post_form(client, "/verify", {"text": script}))
    assert "<script>alert" not in answer and html.escape("<script>", quote=False) in answer
    assert page(client.get("/verify?q=%3Cscript%3Ealert(1)%3C/script%3E")).count("<script>") == 0
    assert client.get("/verify/lookup?q=" + "9" * 400).status_code == 422
    assert post_form(client, "/verify", {"text": ""}).status_code == 422
    after = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    assert after == before
