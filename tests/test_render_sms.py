"""SMS: Vietnamese folded to pure GSM-7, segments counted as carriers bill them, and the
headline, key instruction, code and link kept within the segment budget."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render import gsm
from alerts.render import sms
from alerts.warnings.warning_templates import builtin_definitions
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

GOLDEN = Path(__file__).parent / "data" / "golden"
STOP_LINK = "https://canhbao.bocongan.gov.vn/unsubscribe/" + "T" * 43
NO_ADVICE = (
    "The SMS carries no advice: the instruction has nothing after its introduction."
    " Write what residents should do."
)
VIETNAMESE = (
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)


def _message(**changes):
    return sample_message(sample_content(**changes))


@pytest.mark.parametrize(
    ("text", "encoding", "characters", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("a" * 158 + "[]", "GSM-7", 162, 2),
        ("ệ" * 70, "UCS-2", 70, 1),
        ("ệ" * 71, "UCS-2", 71, 2),
        ("ệ" * 134, "UCS-2", 134, 2),
        ("ệ" * 135, "UCS-2", 135, 3),
        ("a" * 159 + "ệ", "UCS-2", 160, 3),
        ("😀" * 35, "UCS-2", 70, 1),
        ("", "GSM-7", 0, 0),
    ],
)
def test_it_counts_segments_like_carriers(text, encoding, characters, segments):
    assert gsm.count(text) == gsm.Count(encoding, characters, segments)


def test_it_never_splits_an_escape_or_a_surrogate_pair_between_segments():
    # 152 + 2 + 152 = 306 septets, but "€" cannot straddle the end of segment 1.
    assert gsm.count("a" * 152 + "€" + "a" * 152).segments == 3
    assert gsm.count("ệ" * 66 + "😀" + "ệ" * 66).segments == 3


def test_it_folds_every_vietnamese_letter_to_gsm7_ascii():
    folded = gsm.to_gsm7(VIETNAMESE)
    assert folded.isascii() and folded.isalpha() and gsm.is_gsm7(folded)
    assert folded == "a" * 17 + "e" * 11 + "i" * 5 + "o" * 17 + "u" * 11 + "y" * 5 + "d" + (
        "A" * 17 + "E" * 11 + "I" * 5 + "O" * 17 + "U" * 11 + "Y" * 5 + "D"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đường dây nóng Đà Nẵng: đến trụ sở", "Duong day nong Da Nang: den tru so"),
        ("“Cảnh báo” – gọi 113…", '"Canh bao" - goi 113...'),
        ("Giá 50.000₫ × 2", "Gia 50.000d x 2"),
        ("Ca\u0309nh ba\u0301o", "Canh bao"),  # decomposed (NFD) input
        ("Lừa đảo 👮‍♂️🇻🇳 qua mạng", "Lua dao qua mang"),
        ("a\u202eb\u200bc\u2066d\ufeffe", "abcde"),
        ("a\x00b\x07c\x1b[31md", "abc[31md"),
        ("dòng 1\r\ndòng\u20282\tcuối", "dong 1\ndong\n2 cuoi"),
        ("Ｆｕｌｌ ｗｉｄｔｈ", "Full width"),
    ],
)
def test_it_transliterates_to_pure_gsm7(text, expected):
    assert gsm.to_gsm7(text) == expected


def test_it_can_write_extension_characters_with_basic_ones():
    assert gsm.to_gsm7("[a] {b} c\\d|e~f^g €", extension=False) == "(a) (b) c/d/e-fg EUR"
    assert gsm.to_gsm7("[a] €") == "[a] €"


def test_it_matches_the_golden_alert():
    rendering = sms.render(sample_message(), RenderSettings())
    assert rendering.parts["text"] == (GOLDEN / "sms_alert.txt").read_text(encoding="utf-8")
    assert rendering.media_type == "text/plain"
    assert rendering.counts == {"characters": 161, "segments": 2, "encoding": "GSM-7"}


def test_it_matches_the_golden_cancel_which_says_the_warning_no_longer_applies():
    text = sms.render(sample_cancel(), RenderSettings()).parts["text"]
    assert text == (GOLDEN / "sms_cancel.txt").read_text(encoding="utf-8")
    assert text.startswith("HUY CANH BAO: ")
    assert "khong con hieu luc. Ly do: Thong tin chua chinh xac" in text


def test_it_marks_updates_and_drills_without_extension_characters():
    assert sms.render(sample_update(), RenderSettings()).parts["text"].startswith("CAP NHAT: ")
    drill = replace(sample_update(), content=sample_content(mode="Exercise"))
    assert sms.render(drill, RenderSettings()).parts["text"].startswith("(DIEN TAP) CAP NHAT: ")
    test = sms.render(_message(mode="Test"), RenderSettings()).parts["text"]
    assert test.startswith("(THU NGHIEM) ")


@pytest.mark.parametrize("segments", [1, 2, 3])
def test_it_keeps_the_segment_budget_and_never_cuts_the_code_or_the_link(segments):
    message = _message(headline="Cảnh báo lừa đảo " * 9, instruction="Không chuyển tiền " * 40)
    rendering = sms.render(message, RenderSettings(sms_max_segments=segments))
    text = rendering.parts["text"]
    assert rendering.counts["segments"] <= segments == gsm.count(text).segments
    assert len(text) <= gsm.capacity(segments)
    assert text.endswith("Ma xac thuc: K7M4-XQ2P\nhttps://canhbao.bocongan.gov.vn/a/K7M4XQ2P")
    assert "..." in text and not any(" ..." in line for line in text.split("\n"))
    assert any("shortened to fit" in note for note, _params in rendering.notes)


def test_it_shortens_the_instruction_before_the_headline():
    message = _message(instruction="Không chuyển tiền cho người lạ, " * 20 + "gọi 113.")
    rendering = sms.render(message, RenderSettings(sms_max_segments=2))
    lines = rendering.parts["text"].split("\n")
    assert lines[0] == "Canh bao cuoc goi gia danh cong an yeu cau cung cap ma OTP"
    assert lines[1].startswith("Khong chuyen tien cho nguoi la,") and lines[1].endswith("...")
    assert ("The instruction was shortened to fit %(channel)s.", {"channel": "SMS"}) in (
        rendering.notes
    )


def test_it_sends_only_the_first_sentence_of_the_instruction():
    text = sms.render(sample_message(), RenderSettings()).parts["text"]
    assert "Khong cung cap ma OTP cho bat ky ai.\n" in text
    assert "Cong an khong lam viec" not in text
    assert (
        sms.first_sentence("Gọi 113. Ngay khi nghi ngờ. Rồi báo.") == "Gọi 113. Ngay khi nghi ngờ."
    )


def test_it_refuses_when_even_a_minimal_text_cannot_fit():
    long_link = "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P?" + "x" * 120
    message = replace(sample_message(), url=long_link)
    with pytest.raises(TooLong) as refused:
        sms.render(message, RenderSettings(sms_max_segments=1))
    assert (refused.value.channel, refused.value.limit) == ("SMS", "1 segment of 160 characters")
    message = replace(sample_message(), url=long_link + "y" * 250)
    with pytest.raises(TooLong) as refused:
        sms.render(message, RenderSettings(sms_max_segments=2))
    assert refused.value.limit == "2 segments of 153 characters"


def test_it_flags_words_made_ambiguous_by_folding():
    notes = sms.render(sample_message(), RenderSettings()).notes
    msgid = 'Without diacritics, "%(word)s" can be read as %(readings)s.'
    assert [params["word"] for text, params in notes if text == msgid] == [
        "goi",
        "danh",
        "cap",
        "ma",
    ]
    assert (msgid, {"word": "ma", "readings": "mã / mà / má / ma / mạ"}) in notes
    plain = _message(headline="Cảnh báo người lạ đến nhà", instruction="Báo công an phường.")
    assert sms.render(plain, RenderSettings()).notes == ()


def test_it_strips_control_bidi_and_zero_width_characters():
    message = _message(
        headline="Cảnh\u202e báo\u200b\x07 mới", instruction="Gọi\u2066 113 ngay lập tức."
    )
    text = sms.render(message, RenderSettings()).parts["text"]
    assert text.startswith("Canh bao moi\nGoi 113 ngay lap tuc.\n")
    assert gsm.is_gsm7(text) and text.isascii()


def test_a_residents_sms_carries_their_stop_link_within_the_budget():
    link = "https://canhbao.bocongan.gov.vn/unsubscribe/" + "T" * 43
    mine = sms.render(sample_message(), RenderSettings(unsubscribe_url=link))
    assert mine.parts["text"].endswith(f"Ngung nhan tin: {link}")
    assert "K7M4-XQ2P" in mine.parts["text"] and sample_message().url in mine.parts["text"]
    assert mine.counts["segments"] <= 2 and gsm.is_gsm7(mine.parts["text"])
    assert "Ngung nhan tin" not in sms.render(sample_message(), RenderSettings()).parts["text"]


def _filled(text: str) -> str:
    """Return a template's text with its placeholders filled in, as an officer would."""
    return re.sub(r"\[[^\[\]]+\]", "phường Hoàn Kiếm", text)


@pytest.mark.parametrize("slug", [slug for slug, _name, _fields in builtin_definitions()])
@pytest.mark.parametrize(
    "settings",
    [RenderSettings(), RenderSettings(unsubscribe_url=STOP_LINK)]
    + [RenderSettings(sms_max_segments=n, unsubscribe_url=STOP_LINK) for n in (3, 4)],
)
def test_every_builtin_templates_sms_carries_real_advice(slug, settings):
    fields = next(f for s, _name, f in builtin_definitions() if s == slug)
    message = _message(
        headline=_filled(fields["headline"]), instruction=_filled(fields["instruction"])
    )
    rendering = sms.render(message, settings)
    advice = rendering.parts["text"].split("\n")[1]
    assert len(re.findall(r"[A-Za-z]{2,}", advice)) >= 5, advice
    assert "khuyen cao nguoi dan" not in advice.lower()
    assert advice.removesuffix("...") in gsm.to_gsm7(fields["instruction"], extension=False)
    assert NO_ADVICE not in [text for text, _params in rendering.notes]


def test_the_advice_is_past_the_lead_in_without_its_list_mark():
    lead_in = "Công an phường Hoàn Kiếm khuyến cáo người dân:\n"
    assert sms.first_advice(lead_in + "- Không chuyển tiền. Gọi 113.") == "Không chuyển tiền."
    assert sms.first_advice(lead_in + "\n  •  \n1. Gọi 113 ngay khi bị lừa.") == (
        "Gọi 113 ngay khi bị lừa."
    )
    assert sms.first_advice("a) Báo công an phường ngay.") == "Báo công an phường ngay."
    assert sms.first_advice("1.000.000 đồng là mức phạt.") == "1.000.000 đồng là mức phạt."
    assert sms.first_advice("Khuyến cáo: không chuyển tiền.") == "Khuyến cáo: không chuyển tiền."
    assert sms.first_advice(lead_in + " - \n ... \n") == ""


def test_an_sms_without_advice_is_pointed_out():
    message = _message(instruction="Công an phường Hoàn Kiếm khuyến cáo người dân:\n-")
    rendering = sms.render(message, RenderSettings())
    assert rendering.parts["text"].split("\n")[1].startswith("Ma xac thuc: ")
    assert (NO_ADVICE, {}) in rendering.notes
    assert NO_ADVICE not in [t for t, _p in sms.render(sample_cancel(), RenderSettings()).notes]


def test_a_long_headline_gives_way_so_the_advice_is_not_a_stub():
    message = _message(
        headline="Cảnh báo thủ đoạn giả danh nhân viên giao hàng, bưu điện yêu cầu chuyển khoản",
        instruction="Kiểm tra đơn hàng trên ứng dụng chính thức của sàn thương mại điện tử; "
        "không chuyển khoản cho người tự xưng là nhân viên giao hàng.",
    )
    rendering = sms.render(message, RenderSettings(unsubscribe_url=STOP_LINK))
    headline, advice = rendering.parts["text"].split("\n")[:2]
    assert len(advice) >= sms.KEY_ROOM - 3 and len(headline) >= sms.MIN_HEADLINE
    assert rendering.counts["segments"] == 2
