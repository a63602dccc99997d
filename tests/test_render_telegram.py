"""Telegram: HTML parse mode with only Telegram's tags, typed text escaped, scam links never
clickable, and long warnings split into messages that are each valid and within 4,096."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from alerts.render import RenderSettings
from alerts.render import telegram
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

GOLDEN = Path(__file__).parent / "data" / "golden"
SETTINGS = RenderSettings()


class Parsed(HTMLParser):
    """What Telegram sees: the tags (checked balanced), the links and the text."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.opened: list[str] = []
        self.tags: set[str] = set()
        self.hrefs: list[str] = []
        self.text = ""
        self.feed(markup)
        self.close()
        assert not self.opened, f"left open: {self.opened}"

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.opened.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        assert self.opened and self.opened[-1] == tag, f"unbalanced </{tag}>"
        self.opened.pop()

    def handle_data(self, data):
        self.text += data

    @property
    def units(self) -> int:
        return len(self.text.encode("utf-16-le")) // 2


def _message(**changes):
    return sample_message(sample_content(**changes))


def _parts(message) -> list[Parsed]:
    rendering = telegram.render(message, SETTINGS)
    names = ["text"] + [f"text_{i}" for i in range(2, len(rendering.parts) + 1)]
    assert list(rendering.parts) == names
    assert rendering.counts["messages"] == len(names)
    parsed = [Parsed(rendering.parts[name]) for name in names]
    assert rendering.counts["characters"] == max(p.units for p in parsed)
    for part in parsed:
        assert 1 <= part.units <= telegram.LIMIT
        assert part.tags <= telegram.ALLOWED_TAGS
    return parsed


def test_it_matches_the_golden_alert():
    rendering = telegram.render(sample_message(), SETTINGS)
    golden = (GOLDEN / "telegram_alert.html").read_text(encoding="utf-8")
    assert rendering.parts == {"text": golden}
    assert rendering.media_type == "text/html"
    assert rendering.counts == {"messages": 1, "characters": Parsed(golden).units}


def test_it_escapes_what_officers_type():
    message = _message(
        headline="<b>Giả</b> danh & lừa",
        description='Nhắn "<a href=x>bấm</a>" & <script>alert(1)</script> &amp;',
        instruction="Gõ <tg-spoiler> hoặc <br> đều vô hại.",
    )
    text = telegram.render(message, SETTINGS).parts["text"]
    assert "<b>&lt;b&gt;Giả&lt;/b&gt; danh &amp; lừa</b>" in text
    assert "&lt;script&gt;" in text and "&amp;amp;" in text
    parsed = Parsed(text)
    assert parsed.tags <= {"b", "i", "code", "a"}
    assert 'Nhắn "<a href=x>bấm</a>" & <script>alert(1)</script> &amp;' in parsed.text


def test_it_escapes_quotes_inside_link_attributes():
    url = 'https://canhbao.bocongan.gov.vn/a/K7M4XQ2P?x="><b>&y=1'
    text = telegram.render(replace(sample_message(), url=url), SETTINGS).parts["text"]
    assert 'href="https://canhbao.bocongan.gov.vn/a/K7M4XQ2P?x=&#34;&gt;&lt;b&gt;&amp;y=1"' in text
    assert Parsed(text).hrefs[0] == url


def test_it_defangs_scam_links_and_never_links_them():
    parsed = Parsed(telegram.render(sample_message(), SETTINGS).parts["text"])
    assert "vneid-capnhat[.]com/login" in parsed.text
    assert "vneid-capnhat.com" not in parsed.text
    assert parsed.hrefs == [
        "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P",
        "https://bocongan.gov.vn/canh-bao/otp",
    ]


def test_it_marks_drills_updates_and_cancels():
    drill = Parsed(telegram.render(_message(mode="Exercise"), SETTINGS).parts["text"]).text
    assert drill.startswith(
        "DIỄN TẬP: đây là tin diễn tập, không phải cảnh báo thật.\n\n[DIỄN TẬP] "
    )
    update = Parsed(telegram.render(sample_update(), SETTINGS).parts["text"]).text
    assert update.startswith("CẬP NHẬT: Cảnh báo cuộc gọi")
    assert "R8T3-WN6H" in update
    cancel = Parsed(telegram.render(sample_cancel(), SETTINGS).parts["text"]).text
    assert cancel.startswith("HỦY CẢNH BÁO: ")
    assert "không còn hiệu lực.\nLý do: Thông tin chưa chính xác, đã xác minh lại." in cancel
    assert "Người dân cần làm gì" not in cancel


def _words(text: str) -> list[str]:
    return text.split()


def test_it_splits_a_10000_character_description_into_valid_parts():
    paragraph = 'Đối tượng <giả danh> & lừa "đảo" người dân qua điện thoại và mạng. ' * 15
    description = "\n\n".join([paragraph.strip()] * 10) + "\n" + "dòng cuối " * 60
    assert len(description) >= 10000
    message = replace(
        sample_message(), content=sample_content(mode="Exercise", description=description)
    )
    parts = _parts(message)
    assert len(parts) >= 3
    for index, part in enumerate(parts[1:], start=2):
        assert part.text.startswith(f"[DIỄN TẬP] (tiếp theo {index}/{len(parts)})\n")
    body = " ".join(p.text.split("\n", 1)[1] if i else p.text for i, p in enumerate(parts))
    joined = " ".join(_words(body))
    assert " ".join(_words(description)) in joined
    assert joined.endswith("https://bocongan.gov.vn/canh-bao/otp")


def test_it_splits_one_endless_word_and_counts_emoji_as_two_units():
    for description in ("ж" * 10000, "😀" * 5000):
        message = replace(sample_message(), content=sample_content(description=description))
        parts = _parts(message)
        assert len(parts) == 3
        assert "".join(p.text for p in parts).count(description[0]) == len(description)


def test_split_reopens_the_tags_a_cut_passes_through():
    markup = '<b>Tiêu đề</b>\n\n<i><a href="https://x.vn/?a=1&amp;b=2">' + "từ " * 500 + "</a></i>"
    parts = telegram.split(markup, 400)
    assert len(parts) > 3
    for part in parts[1:]:
        assert part.startswith('<i><a href="https://x.vn/?a=1&amp;b=2">')
        assert part.endswith("</a></i>")
        parsed = Parsed(part)
        assert parsed.units <= 400 and parsed.hrefs == ["https://x.vn/?a=1&b=2"]
    assert parts[0].startswith("<b>Tiêu đề</b>\n\n<i><a href=")


def test_split_prefers_the_gap_between_blocks():
    first, second = "<b>" + "một " * 80 + "</b>", "<i>" + "hai " * 80 + "</i>"
    assert telegram.split(f"{first}\n\n{second}", 400) == [first, second]


def test_it_leaves_a_message_within_the_limit_whole():
    assert telegram.split("<b>a</b>\n\nb", 10) == ["<b>a</b>\n\nb"]
    assert telegram.split("<b>a</b>\n\nb", 3) == ["<b>a</b>", "b"]
    assert telegram.visible_length("<b>a &amp; 😀</b>") == 6
