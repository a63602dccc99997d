"""A refutation in every channel format: headed "ĐÍNH CHÍNH" (SMS "DINH CHINH"), the false
claim quoted and escaped for the format, its links defanged wherever a resident could tap
them, and the CAP document still valid against the OASIS schema."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
import xmlschema

from alerts.render import RenderSettings
from alerts.render import atom
from alerts.render import cap
from alerts.render import email
from alerts.render import facebook
from alerts.render import sms
from alerts.render import telegram
from alerts.render import web
from alerts.render import webhook
from alerts.render import zalo
from tests.render_samples import CLAIM
from tests.render_samples import CLAIM_LINK
from tests.render_samples import sample_message
from tests.render_samples import sample_refutation

DATA = Path(__file__).parent / "data"
NS = {"cap": cap.NAMESPACE}
DEFANGED = "vneid-capnhat[.]com/cap-nhat"
SETTINGS = RenderSettings()


class _Page(HTMLParser):
    """What a browser (or Telegram) makes of markup: its tags, link targets and text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]

    def handle_data(self, data):
        self.text += data


@pytest.fixture(scope="module")
def message():
    return sample_message(sample_refutation())


def _no_tappable_claim_link(text: str) -> None:
    assert CLAIM_LINK not in text
    assert "vneid-capnhat.com" not in text.replace("vneid-capnhat.com ngay", "")


def test_cap_is_schema_valid_headed_with_an_event_and_the_claim_quoted(message):
    xml = cap.render(message, SETTINGS).parts["xml"]
    xmlschema.XMLSchema(DATA / "CAP-v1.2.xsd").validate(io.BytesIO(xml.encode("utf-8")))
    info = ET.fromstring(xml.encode("utf-8")).findall("cap:info", NS)
    vi, en = info
    assert vi.findtext("cap:headline", namespaces=NS).startswith("ĐÍNH CHÍNH: ")
    assert en.findtext("cap:headline", namespaces=NS).startswith("CORRECTION: ")
    assert vi.findtext("cap:event", namespaces=NS) == "Đính chính thông tin sai sự thật"
    description = vi.findtext("cap:description", namespaces=NS)
    assert f"«{CLAIM}»" in description  # parsed back whole: it was escaped, not dropped
    assert DEFANGED in description and CLAIM_LINK not in description
    assert "<script>" not in xml


def test_atom_title_is_headed_and_the_summary_quotes_the_escaped_claim(message):
    entry = atom.render(message, SETTINGS).parts["xml"]
    feed = atom.feed(
        [entry], feed_id="urn:x", title="Cảnh báo", self_url="https://x/a", updated=message.sent
    )
    parsed = feedparser.parse(feed)
    assert not parsed.bozo
    (item,) = parsed.entries
    assert item.title.startswith("ĐÍNH CHÍNH: ")
    assert CLAIM in item.summary
    assert "<script>" not in entry


def test_the_portal_page_quotes_the_claim_as_text_and_never_links_it(message):
    html = web.render(message, SETTINGS).parts["html"]
    page = _Page(html)
    assert "script" not in page.tags
    assert "ĐÍNH CHÍNH: " in page.text and "Sự thật" in page.text
    assert CLAIM in page.text
    assert DEFANGED in page.text
    assert not any("vneid-capnhat" in href for href in page.hrefs)


def test_telegram_html_is_headed_escaped_and_the_links_defanged(message):
    text = telegram.render(message, SETTINGS).parts["text"]
    page = _Page(text)
    assert set(page.tags) <= {"b", "i", "code", "a"}
    assert page.text.splitlines()[0].startswith("ĐÍNH CHÍNH: ")
    assert CLAIM in page.text and "&lt;script&gt;" in text
    assert DEFANGED in page.text
    assert not any("vneid-capnhat" in href for href in page.hrefs)


@pytest.mark.parametrize("render", [zalo.render, facebook.render], ids=["zalo", "facebook"])
def test_plain_text_posts_are_headed_and_defang_the_claims_links(message, render):
    rendering = render(message, SETTINGS)
    text = rendering.parts.get("text") or rendering.parts["message"]
    assert text.startswith("ĐÍNH CHÍNH: ")
    assert CLAIM in text and "Sự thật:" in text
    assert DEFANGED in text
    _no_tappable_claim_link(text)


def test_sms_is_headed_without_diacritics(message):
    text = sms.render(message, SETTINGS).parts["text"]
    assert text.startswith("DINH CHINH: ")
    _no_tappable_claim_link(text)


def test_email_is_headed_in_subject_text_and_html_and_escapes_the_claim(message):
    parts = email.render(message, SETTINGS).parts
    assert parts["subject"].startswith("ĐÍNH CHÍNH: ")
    assert CLAIM in parts["text"] and DEFANGED in parts["text"]
    page = _Page(parts["html"])
    assert "script" not in page.tags and CLAIM in page.text
    assert not any("vneid-capnhat" in href for href in page.hrefs)


def test_the_webhook_carries_a_refutation_field_and_the_claim_as_json(message):
    body = json.loads(webhook.render(message, SETTINGS).parts["json"])
    assert body["refutation"] == {"heading": "ĐÍNH CHÍNH", "claim": CLAIM, "links": [DEFANGED]}
    assert body["content"]["refutation"] == {"claim": CLAIM, "links": [CLAIM_LINK]}
    assert "ĐÍNH CHÍNH" in body["cap"]


def test_a_warning_that_is_not_a_refutation_carries_none_of_it():
    body = json.loads(webhook.render(sample_message(), SETTINGS).parts["json"])
    assert body["refutation"] is None
    assert "refutation" not in body["content"]
    assert "ĐÍNH CHÍNH" not in web.render(sample_message(), SETTINGS).parts["html"]
