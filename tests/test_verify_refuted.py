"""/verify recognises a claim the police have refuted (issue 16), however it was passed on:
re-typed without diacritics, shortened, re-punctuated, forwarded inside a longer message, or
only one of its links; a text on the same subject that says something else does not match,
and only published, in-force, live refutations count."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.residents import verify
from alerts.residents.verify_claims import claim_form
from alerts.store import warnings as store
from alerts.warnings import workflow
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import acting_as
from tests.conftest import post_form
from tests.test_verify import page
from tests.test_verify import web  # noqa: F401 (a fixture)

CLAIM = (
    "Khẩn: từ ngày 15/12 ai chưa cập nhật VNeID mức 2 sẽ bị khóa tài khoản ngân hàng và phạt"
    " 5 triệu đồng. Cập nhật ngay tại vneid-capnhat.com/cap-nhat, chia sẻ cho người thân!"
)
FACTS = "Bộ Công an không khóa tài khoản ngân hàng của người chưa có VNeID mức 2."
MATCHING = {
    "as received": CLAIM,
    "re-typed without diacritics": (
        "khan tu ngay 15/12 ai chua cap nhat vneid muc 2 se bi khoa tai khoan ngan hang va"
        " phat 5 trieu dong. cap nhat ngay tai vneid-capnhat com, chia se cho nguoi than"
    ),
    "shortened": "từ ngày 15/12 ai chưa cập nhật VNeID mức 2 sẽ bị khóa tài khoản ngân hàng",
    "re-punctuated": (
        "KHẨN!!! Từ ngày 15-12, ai chưa cập nhật VNeID (mức 2) sẽ bị khóa tài khoản ngân"
        " hàng... và phạt 5 triệu đồng!!!"
    ),
    "forwarded with typos": (
        "Fwd: moi nguoi oi: tu ngay 15/12 ai chua cap nhap VNeID muc 2 se bi khoa tai khoang"
        " ngan hang va phat 5 trieu. Gui tu iPhone"
    ),
    "its link alone": "hxxps://vneid-capnhat[.]com/cap-nhat",
}
NOT_MATCHING = {
    "near miss on the same subject": (
        "Từ ngày 15/12 ai chưa cập nhật VNeID mức 2 sẽ được hỗ trợ miễn phí tại công an phường"
    ),
    "unrelated": "Cảnh báo cuộc gọi giả danh công an yêu cầu cung cấp mã OTP qua điện thoại",
    "a common phrase of it": "tài khoản ngân hàng",
    "another site": "https://vneid-capnhat.net/cap-nhat",
}


def refutation(db, claim=CLAIM, **changes):
    """Publish Hà Nội's refutation of the claim (approved by the ministry) and return it."""
    changes = {
        "warning_type": "fake_news",
        "headline": "Thông tin khóa tài khoản nếu chưa cập nhật VNeID là sai sự thật",
        "description": FACTS,
        "instruction": "Không chia sẻ tin này, không truy cập đường link lạ.",
        "regions": ["01"],
        "channels": ["zalo"],
        "indicators": {},
        "refutation": {"claim": claim, "links": ["http://vneid-capnhat.com/cap-nhat"]},
        **changes,
    }
    return approve(db, "bo.duyet", submitted(db, "hanoi.canbo", **changes))


def test_the_form_compares_without_case_diacritics_or_punctuation():
    assert claim_form("Khẩn:  KHÓA tài-khoản!!\nĐà Nẵng") == "khan khoa tai khoan da nang"


@pytest.mark.parametrize("name", sorted(MATCHING))
def test_a_refuted_claim_is_recognised(db, name):
    alert = refutation(db)
    result = verify.check(db, MATCHING[name], CONFIG)
    assert result.verdict == verify.REFUTED, name
    (found,) = result.refutations
    assert found.code == alert.code and found.facts == FACTS
    assert found.unit == "Công an thành phố Hà Nội"
    day = utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert found.date == day.strftime("%d/%m/%Y")
    assert result.params == {"unit": found.unit, "date": found.date}


@pytest.mark.parametrize("name", sorted(NOT_MATCHING))
def test_what_the_claim_is_not_stays_not_official(db, name):
    refutation(db)
    result = verify.check(db, NOT_MATCHING[name], CONFIG)
    assert result.verdict == verify.NOT_OFFICIAL, name
    assert result.refutations == ()


def test_only_refutations_in_force_count(db):
    submitted(  # awaiting approval: not published
        db,
        "hanoi.canbo",
        warning_type="fake_news",
        regions=["01"],
        indicators={},
        refutation={"claim": CLAIM},
    )
    drill = refutation(db, mode="Exercise")
    cancelled = refutation(db)
    workflow.cancel(db, acting_as(db, "bo.duyet"), cancelled.id, reason="Nhầm", config=CONFIG)
    expired = refutation(db)
    store.set_fields(db, expired.id, expires_at=to_text(utcnow() - timedelta(minutes=1)))
    assert drill.code
    assert verify.check(db, CLAIM, CONFIG).verdict == verify.NOT_OFFICIAL


def test_the_page_says_who_refuted_it_when_and_links_the_signed_refutation(web, db):  # noqa: F811
    app, client = web
    alert = refutation(db)
    html = page(post_form(client, "/verify", {"text": MATCHING["shortened"]}))
    assert "False information: refuted by the police" in html
    assert f"/a/{alert.code}" in html and FACTS in html
    client.set_cookie("lang", "vi")
    html = page(client.get("/verify", query_string={"q": MATCHING["re-punctuated"]}))
    day = utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    expected = f"Thông tin này đã bị Công an thành phố Hà Nội đính chính ngày {day:%d/%m/%Y}"
    assert expected in html
