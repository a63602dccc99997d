"""The Atom entries and region feeds, and the portal's HTML fragment of a warning."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser

import feedparser
import pytest

from alerts.render import RenderSettings
from alerts.render import atom
from alerts.render import common
from alerts.render import web
from alerts.warnings.content import Indicators
from tests.render_samples import SENT
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_update

ATOM = {"a": atom.NAMESPACE}
FEED = {
    "feed_id": "https://canhbao.bocongan.gov.vn/feeds/00070.atom",
    "title": "Cảnh báo — Phường Hoàn Kiếm & <lân cận>",
    "self_url": "https://canhbao.bocongan.gov.vn/feeds/00070.atom",
    "updated": SENT + timedelta(days=1),
}


def _entry(message) -> str:
    return atom.render(message, RenderSettings()).parts["xml"]


def _html(message) -> str:
    return web.render(message, RenderSettings()).parts["html"]


class _Page(HTMLParser):
    """Collects tags, links and text of a fragment, as a browser would see them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[dict] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs))

    def handle_data(self, data):
        self.text += data


# Atom


def test_an_entry_carries_id_title_times_author_links_and_category():
    rendering = atom.render(sample_update(), RenderSettings())
    assert rendering.media_type == "application/atom+xml"
    entry = ET.fromstring(rendering.parts["xml"].encode("utf-8"))
    assert entry.tag == atom.ENTRY_TAG
    assert entry.findtext("a:id", namespaces=ATOM) == "tag:canhbao.bocongan.gov.vn,2026-12-02:7.2"
    assert entry.findtext("a:title", namespaces=ATOM).startswith("CẬP NHẬT: Cảnh báo cuộc gọi")
    assert entry.findtext("a:updated", namespaces=ATOM) == "2026-12-02T09:00:00+07:00"
    assert entry.findtext("a:author/a:name", namespaces=ATOM) == "Công an phường Hoàn Kiếm"
    summary = entry.findtext("a:summary", namespaces=ATOM)
    assert "Không cung cấp mã OTP" in summary
    links = {link.get("type"): link.attrib for link in entry.findall("a:link", ATOM)}
    assert links["text/html"]["href"] == "https://canhbao.bocongan.gov.vn/a/R8T3WN6H"
    assert links["application/cap+xml"]["href"] == "https://canhbao.bocongan.gov.vn/a/R8T3WN6H.cap"
    category = entry.find("a:category", ATOM)
    assert category.get("term") == "scam_phone"
    assert category.get("label") == "Lừa đảo qua điện thoại"
    assert rendering.counts["bytes"] == len(rendering.parts["xml"].encode("utf-8"))


def test_a_cancelled_entry_says_why():
    entry = ET.fromstring(_entry(sample_cancel()).encode("utf-8"))
    cancel_id = "tag:canhbao.bocongan.gov.vn,2026-12-01:7.1.cancel"
    assert entry.findtext("a:id", namespaces=ATOM) == cancel_id
    assert entry.findtext("a:title", namespaces=ATOM).startswith("HỦY CẢNH BÁO: ")
    assert "Thông tin chưa chính xác" in entry.findtext("a:summary", namespaces=ATOM)


def test_an_entry_escapes_what_the_officer_typed():
    headline = '<script>alert(1)</script> & ]]> <!ENTITY x SYSTEM "file:///etc/passwd"> \x00'
    xml = _entry(sample_message(sample_content(headline=headline)))
    assert "<script>" not in xml and "<!ENTITY" not in xml
    title = ET.fromstring(xml.encode("utf-8")).findtext("a:title", namespaces=ATOM)
    assert title == headline.replace("\x00", "")


def test_a_feed_of_several_entries_parses_without_errors():
    entries = [_entry(m) for m in (sample_message(), sample_cancel(), sample_update())]
    parsed = feedparser.parse(atom.feed(entries, **FEED))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == FEED["title"]
    assert parsed.feed.id == FEED["feed_id"]
    assert [e.id for e in parsed.entries] == [
        "tag:canhbao.bocongan.gov.vn,2026-12-02:7.2",
        "tag:canhbao.bocongan.gov.vn,2026-12-01:7.1.cancel",
        "tag:canhbao.bocongan.gov.vn,2026-12-01:7.1",
    ]
    for entry in parsed.entries:
        assert entry.link.startswith("https://canhbao.bocongan.gov.vn/a/")
        types = {link.type: link.href for link in entry.links}
        assert types["application/cap+xml"].endswith(".cap")
        assert entry.author == "Công an phường Hoàn Kiếm"
        assert entry.tags[0].term == "scam_phone"


def test_an_empty_feed_is_still_a_feed():
    parsed = feedparser.parse(atom.feed([], **FEED))
    assert not parsed.bozo and parsed.entries == []


def _many_entries(count: int) -> list[str]:
    """Entries of about 2 KB each, one minute apart, the first one the oldest."""
    content = sample_content(instruction="Không chuyển tiền cho người lạ. " * 31)
    base = sample_message(content)
    return [
        _entry(
            replace(
                base, identifier=f"canhbao.bocongan.gov.vn:{n}.1", sent=SENT + timedelta(minutes=n)
            )
        )
        for n in range(count)
    ]


def test_the_feed_keeps_within_900_kb_by_dropping_the_oldest():
    entries = _many_entries(500)
    assert sum(len(e.encode("utf-8")) for e in entries) > atom.FEED_LIMIT
    shuffled = entries[:]
    random.Random(4).shuffle(shuffled)
    xml = atom.feed(shuffled, **FEED)
    assert len(xml.encode("utf-8")) <= atom.FEED_LIMIT
    ids = [e.id for e in feedparser.parse(xml).entries]
    assert 400 < len(ids) < 500
    tags = [f"tag:canhbao.bocongan.gov.vn,2026-12-01:{n}.1" for n in range(499, 499 - len(ids), -1)]
    assert ids == tags


def test_the_feed_refuses_what_is_not_one_of_our_entries():
    good = _entry(sample_message())
    for bad in ("<script>alert(1)</script>", "<entry>", '<?xml version="1.0"?>' + good):
        with pytest.raises(ValueError):
            atom.feed([good, bad], **FEED)


# Web


def test_the_page_escapes_what_the_officer_typed():
    content = sample_content(
        headline="<script>alert(1)</script>",
        description='<img src=x onerror="alert(1)"> & <b>',
        instruction="</article><a href='https://evil.example'>x</a>",
    )
    html = _html(sample_message(content))
    page = _Page(html)
    assert "script" not in page.tags and "img" not in page.tags and "b" not in page.tags
    assert all("evil" not in link.get("href", "") for link in page.links)
    assert "<script>alert(1)</script>" in page.text
    assert '<img src=x onerror="alert(1)"> & <b>' in page.text


@pytest.mark.parametrize(("mode", "word"), [("Exercise", "DIỄN TẬP"), ("Test", "THỬ NGHIỆM")])
def test_a_drill_carries_a_banner(mode, word):
    html = _html(sample_message(sample_content(mode=mode)))
    assert 'class="drill-banner" role="alert"' in html
    assert f"{word}: đây là tin {word.lower()}, không phải cảnh báo thật." in _Page(html).text
    assert "drill-banner" not in _html(sample_message())


def test_a_cancel_carries_a_banner_with_the_reason():
    html = _html(sample_cancel())
    assert 'class="cancelled-banner" role="alert"' in html
    assert "ĐÃ HỦY CẢNH BÁO. Lý do: Thông tin chưa chính xác, đã xác minh lại." in _Page(html).text
    assert "cancelled-banner" not in _html(sample_message())


def test_an_update_is_marked():
    assert 'class="update-mark"' in _html(sample_update())
    assert 'class="update-mark"' not in _html(sample_message())


def test_scam_links_are_defanged_and_never_links():
    links = ("http://vneid-capnhat.com/login", "https://www.bo-cong-an.top/xac-thuc?id=1")
    html = _html(sample_message(sample_content(indicators=Indicators(links=links))))
    page = _Page(html)
    assert "vneid-capnhat[.]com/login" in page.text
    assert "www[.]bo-cong-an[.]top/xac-thuc?id=1" in page.text
    assert "vneid-capnhat.com" not in html and "bo-cong-an.top" not in html
    hrefs = [link["href"] for link in page.links]
    assert hrefs == [
        "https://canhbao.bocongan.gov.vn/a/K7M4XQ2P",
        "https://bocongan.gov.vn/canh-bao/otp",
    ]
    assert page.links[1]["rel"] == "noopener"


def test_defang_drops_the_scheme_and_breaks_every_dot_of_the_host():
    assert common.defang("http://vneid-capnhat.com/login") == "vneid-capnhat[.]com/login"
    assert common.defang("https://a.b.vn") == "a[.]b[.]vn"
    assert common.defang("hxxp://x.vn?q=a.b") == "x[.]vn?q=a.b"


def test_the_page_drops_characters_no_page_can_carry():
    content = sample_content(headline="A\x00B\ud800C\uffffD")
    rendering = web.render(sample_message(content), RenderSettings())
    assert "<h1>ABCD</h1>" in rendering.parts["html"]
    assert rendering.counts["bytes"] == len(rendering.parts["html"].encode("utf-8"))


def test_the_page_keeps_line_breaks_and_paragraphs():
    content = sample_content(description="Dòng một\nDòng hai\n\nĐoạn hai")
    html = _html(sample_message(content))
    assert "<p>Dòng một<br>Dòng hai</p>\n<p>Đoạn hai</p>" in html


def test_the_page_shows_severity_regions_units_times_code_and_links():
    html = _html(sample_message())
    text = " ".join(_Page(html).text.split())
    assert 'class="tag severity sev-severe"' in html
    assert "Mức độ: Nghiêm trọng" in text
    assert "Phường Hoàn Kiếm" in text
    assert "0912 345 678" in text and "Vietcombank 0123456789" in text
    assert (
        f"<dt>{both('Đơn vị phát hành', 'Issued by')}</dt><dd>Công an phường Hoàn Kiếm</dd>" in html
    )
    assert (
        f"<dt>{both('Đơn vị phê duyệt', 'Approved by')}</dt><dd>Công an thành phố Hà Nội</dd>"
        in html
    )
    sent = both("08:30 01/12/2026", "1 Dec 2026, 08:30")
    assert f'<time datetime="2026-12-01T08:30:00+07:00">{sent}</time>' in html
    expires = both("08:30 08/12/2026", "8 Dec 2026, 08:30")
    assert f'<time datetime="2026-12-08T08:30:00+07:00">{expires}</time>' in html
    assert "K7M4-XQ2P — kiểm tra tại check it at https://canhbao.bocongan.gov.vn/a/K7M4XQ2P" in text


def both(vi: str, en: str) -> str:
    """A label as the fragment carries it: both languages, the stylesheet showing one."""
    return f'<span class="in-vi">{vi}</span> <span class="in-en" lang="en">{en}</span>'


def test_every_label_of_the_page_has_its_english_twin():
    html = _html(sample_cancel())
    vi = re.findall(r'<span class="in-vi">([^<]*)</span>', html)
    en = re.findall(r'<span class="in-en" lang="en">([^<]*)</span>', html)
    assert len(vi) == len(en) >= 10 and all(en)
    assert "Severity: Severe" in en and "Phone scam" in en and "What residents should do" in en


def test_english_text_has_its_own_section_only_when_written():
    page = _html(sample_message())
    assert '<section lang="en" class="english">' in page
    assert "Warning: callers posing as police ask for OTP codes" in page
    english_less = sample_content(headline_en="", description_en="", instruction_en="")
    assert '<section lang="en"' not in _html(sample_message(english_less))


def test_the_page_rendering_counts():
    rendering = web.render(sample_message(), RenderSettings())
    assert rendering.media_type == "text/html"
    assert rendering.counts["bytes"] == len(rendering.parts["html"].encode("utf-8"))
    assert rendering.counts["regions"] == 1
