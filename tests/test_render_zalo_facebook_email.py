"""Zalo, Facebook and email: each channel's limits, valid JSON for Zalo's requests, the
article broadcast only for a province or the nation, and email headers nobody can inject."""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alerts.models import Level
from alerts.models import Region
from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render import email
from alerts.render import facebook
from alerts.render import zalo
from tests.render_samples import HANOI
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

GOLDEN = Path(__file__).parent / "data" / "golden"
NATION = Region("vn", Level.NATION, "Việt Nam", "Quốc gia", None)
UNSUBSCRIBE = "https://canhbao.bocongan.gov.vn/huy-dang-ky/opaque-token"
SETTINGS = RenderSettings(unsubscribe_url=UNSUBSCRIBE)
CODE_AND_LINK = ("K7M4-XQ2P", "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P")


def _golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


def _message(**changes):
    return sample_message(sample_content(**changes))


# Zalo


def test_zalo_matches_the_golden_text_and_template_params():
    rendering = zalo.render(sample_message(), SETTINGS)
    assert rendering.parts == {
        "text": _golden("zalo_alert.txt"),
        "template_params": _golden("zalo_alert_template_params.json"),
    }
    assert rendering.media_type == "application/json"
    assert json.loads(rendering.parts["template_params"]) == {
        "headline": "Cảnh báo cuộc gọi giả danh công an yêu cầu cung cấp mã OTP",
        "code": "K7M4-XQ2P",
        "link": "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P",
        "unit": "Công an phường Hoàn Kiếm",
        "expiry": "08:30 08/12/2026",
    }


def test_zalo_matches_the_golden_article_and_broadcast_for_a_province():
    rendering = zalo.render(replace(sample_message(), regions=(HANOI,)), SETTINGS)
    assert rendering.parts["article"] == _golden("zalo_province_article.json")
    assert rendering.parts["broadcast"] == _golden("zalo_province_broadcast.json")
    article = json.loads(rendering.parts["article"])
    assert article["author"] == "Công an phường Hoàn Kiếm"
    assert len(article["title"]) <= zalo.ARTICLE_TITLE_LIMIT
    assert all(block["type"] == "text" and block["content"] for block in article["body"])
    target = json.loads(rendering.parts["broadcast"])["recipient"]["target"]
    assert "cities" not in target
    assert [params for msgid, params in rendering.notes if "city filter" in msgid] == [
        {"regions": "Thành phố Hà Nội"}
    ]


@pytest.mark.parametrize(
    ("regions", "broadcast"),
    [((HANOI,), True), ((NATION,), True), (sample_message().regions, False)],
)
def test_zalo_broadcasts_an_article_only_for_a_province_or_the_nation(regions, broadcast):
    rendering = zalo.render(replace(sample_message(), regions=regions), SETTINGS)
    assert ("article" in rendering.parts) is broadcast
    assert ("broadcast" in rendering.parts) is broadcast
    for name, value in rendering.parts.items():
        if name != "text":
            json.loads(value)
    city_notes = [msgid for msgid, _params in rendering.notes if "city filter" in msgid]
    assert len(city_notes) == (regions == (HANOI,))


def test_zalo_asks_for_a_cover_image_unless_one_is_attached():
    province = replace(sample_message(), regions=(HANOI,))
    notes = zalo.render(province, SETTINGS).notes
    assert ("Zalo needs a cover image for the article: attach an image.", {}) in notes
    pictured = replace(province, image_url="https://canhbao.bocongan.gov.vn/img/a7.jpg")
    rendering = zalo.render(pictured, SETTINGS)
    assert json.loads(rendering.parts["article"])["cover"] == {
        "cover_type": "photo",
        "photo_url": "https://canhbao.bocongan.gov.vn/img/a7.jpg",
        "status": "show",
    }
    assert not [n for n in rendering.notes if "cover" in n[0]]


def test_zalo_text_shortens_the_description_to_2000_characters():
    instruction = "Không chuyển tiền cho người lạ. " * 30
    rendering = zalo.render(
        _message(description="Thủ đoạn lừa đảo mới. " * 180, instruction=instruction), SETTINGS
    )
    text = rendering.parts["text"]
    assert len(text) <= zalo.TEXT_LIMIT == 2000
    assert "…" in text and instruction.strip() in text
    assert text.startswith("Cảnh báo cuộc gọi giả danh công an")
    assert all(value in text for value in CODE_AND_LINK)
    assert ("The description was shortened to fit %(channel)s.", {"channel": "Zalo"}) in (
        rendering.notes
    )


def test_zalo_refuses_when_the_text_cannot_fit():
    with pytest.raises(TooLong) as refused:
        zalo.render(replace(sample_message(), issuer_name="Công an " * 300), SETTINGS)
    assert (refused.value.channel, refused.value.limit) == ("Zalo", "2,000 characters")


def test_zalo_text_lists_a_few_indicators_and_defangs_links():
    links = tuple(f"http://lua-dao-{i}.com/x" for i in range(8))
    content = sample_content()
    content = replace(content, indicators=replace(content.indicators, links=links))
    text = zalo.render(sample_message(content), SETTINGS).parts["text"]
    assert "- lua-dao-4[.]com/x" in text and "lua-dao-5" not in text
    assert "- và 3 mục khác trên trang cảnh báo" in text
    assert ".com" not in text.replace("bocongan.gov.vn", "")


def test_zalo_marks_drills_and_cancels():
    drill = zalo.render(_message(mode="Test"), SETTINGS)
    assert drill.parts["text"].startswith("THỬ NGHIỆM: đây là tin thử nghiệm")
    assert json.loads(drill.parts["template_params"])["headline"].startswith("[THỬ NGHIỆM] ")
    cancel = zalo.render(sample_cancel(), SETTINGS).parts["text"]
    assert "ĐÃ HỦY CẢNH BÁO. Cảnh báo này không còn hiệu lực.\nLý do: Thông tin chưa" in cancel
    assert "Người dân cần làm gì" not in cancel


# Facebook


def test_facebook_matches_the_golden_post():
    rendering = facebook.render(sample_message(), SETTINGS)
    assert rendering.parts == {"message": _golden("facebook_alert.txt"), "link": CODE_AND_LINK[1]}
    message = rendering.parts["message"]
    assert message.endswith("\n\n#CanhBaoLuaDao #CongAnPhuongHoanKiem")
    assert "- vneid-capnhat[.]com/login" in message and "vneid-capnhat.com" not in message
    assert all(value in message for value in CODE_AND_LINK)


def test_facebook_hashtags_name_the_drill_the_kind_and_the_unit():
    drill = replace(sample_update(), content=sample_content(mode="Exercise", warning_type="drugs"))
    assert facebook.hashtags(drill) == ["#DienTap", "#PhongChongMaTuy", "#CongAnPhuongHoanKiem"]
    assert facebook.hashtag("Công an tỉnh Đắk Lắk") == "#CongAnTinhDakLak"
    text = facebook.render(drill, SETTINGS).parts["message"]
    assert text.startswith("DIỄN TẬP: đây là tin diễn tập, không phải cảnh báo thật.\n\n")
    assert "[DIỄN TẬP] CẬP NHẬT: Cảnh báo" in text


def test_facebook_keeps_within_the_graph_post_length():
    message = _message(description="Lừa đảo qua mạng xã hội. " * 3000)
    rendering = facebook.render(message, SETTINGS)
    assert len(rendering.parts["message"]) <= facebook.LIMIT == 63206
    assert rendering.counts["characters"] == len(rendering.parts["message"])
    assert "…" in rendering.parts["message"]
    assert ("The description was shortened to fit %(channel)s.", {"channel": "Facebook"}) in (
        rendering.notes
    )


# Email


class _Html(HTMLParser):
    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text += data


def test_email_matches_the_golden_parts_and_headers():
    rendering = email.render(sample_message(), SETTINGS)
    assert rendering.parts == {
        "subject": _golden("email_alert_subject.txt"),
        "text": _golden("email_alert.txt"),
        "html": _golden("email_alert.html"),
    }
    assert rendering.media_type == "multipart/alternative"
    assert rendering.headers == {
        "Auto-Submitted": "auto-generated",
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_email_headers_and_subject_carry_no_line_breaks_from_the_headline():
    message = _message(headline="Cảnh báo\r\nBcc: x@y\n\x00Subject: z\u2028w")
    rendering = email.render(message, RenderSettings(unsubscribe_url=UNSUBSCRIBE + "\r\nBcc: x@y"))
    subject = rendering.parts["subject"]
    assert subject == "Cảnh báo Bcc: x@y Subject: z w (mã xác thực K7M4-XQ2P)"
    for value in [subject, *rendering.headers.values()]:
        assert value.isprintable(), repr(value)
    assert rendering.headers["List-Unsubscribe"] == f"<{UNSUBSCRIBE}Bcc:x@y>"


def test_email_subject_is_limited_but_keeps_marks_and_code():
    drill = replace(sample_cancel(), content=sample_content(mode="Test", headline="Lừa đảo " * 20))
    subject = email.render(drill, SETTINGS).parts["subject"]
    assert len(subject) <= email.SUBJECT_LIMIT
    assert subject.startswith("[THỬ NGHIỆM] HỦY CẢNH BÁO: Lừa đảo")
    assert subject.endswith("… (mã xác thực K7M4-XQ2P)")


def test_email_offers_unsubscribing_only_when_configured():
    assert email.render(sample_message(), RenderSettings()).headers == {
        "Auto-Submitted": "auto-generated"
    }
    plain = email.render(sample_message(), RenderSettings(unsubscribe_url="http://x.vn/u/1"))
    assert plain.headers["List-Unsubscribe"] == "<http://x.vn/u/1>"
    assert "List-Unsubscribe-Post" not in plain.headers
    assert plain.notes == (("One-click unsubscribe (RFC 8058) needs an HTTPS address.", {}),)


def test_email_html_escapes_what_officers_type_and_shows_the_drill_banner():
    message = _message(
        mode="Exercise",
        headline="<script>alert(1)</script>",
        description='<img src=x onerror="alert(1)"> & <a href="http://evil">bấm</a>',
    )
    rendering = email.render(message, SETTINGS)
    html = rendering.parts["html"]
    parsed = _Html(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert '<img src=x onerror="alert(1)"> & <a href="http://evil">bấm</a>' in parsed.text
    assert "DIỄN TẬP: đây là tin diễn tập, không phải cảnh báo thật." in parsed.text
    assert "vneid-capnhat[.]com/login" in parsed.text and 'href="http://vneid' not in html
    assert 'name="viewport"' in html and "max-width:600px" in html
    assert rendering.parts["subject"].startswith("[DIỄN TẬP] <script>")


def test_email_marks_cancels_in_every_part():
    rendering = email.render(sample_cancel(), SETTINGS)
    assert rendering.parts["subject"].startswith("HỦY CẢNH BÁO: ")
    for name in ("text", "html"):
        assert "Cảnh báo này không còn hiệu lực." in rendering.parts[name]
        assert "Thông tin chưa chính xác, đã xác minh lại." in rendering.parts[name]
        assert "Người dân cần làm gì" not in rendering.parts[name]


def test_a_residents_zalo_and_telegram_messages_carry_their_own_stop_link():
    from alerts.render import telegram

    for render, part in ((zalo.render, "text"), (telegram.render, "text")):
        mine = render(sample_message(), SETTINGS).parts[part]
        unit = render(sample_message(), RenderSettings()).parts[part]
        assert UNSUBSCRIBE in mine and "Ngừng nhận tin" in mine
        assert UNSUBSCRIBE not in unit and "Ngừng nhận tin" not in unit
