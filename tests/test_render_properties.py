"""Whatever an officer types cannot break or inject into any channel format (Hypothesis).

The text goes through the same cleaning as a real submission (NFC, no control or invisible
characters), then every renderer must either produce a well-formed rendering within its
channel's limits or refuse with TooLong naming the channel and the limit.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import xmlschema
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render import gsm
from alerts.render import registry
from alerts.text import clean_line
from alerts.text import clean_text
from alerts.warnings.content import LIMITS
from alerts.warnings.content import Refutation
from tests.render_samples import sample_cancel
from tests.render_samples import sample_content
from tests.render_samples import sample_message
from tests.render_samples import sample_refutation
from tests.render_samples import sample_update

NASTY = [
    "<script>alert(1)</script>",
    "]]>",
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
    "&amp;",
    "&",
    "<b>",
    "</a>",
    '"',
    "'",
    "\u202e",
    "\u200b",
    "\ufeff",
    "👮‍♂️",
    "🇻🇳",
    "Ca\u0309nh ba\u0301o",
    "\r\nBcc: x@y.z",
    "{{ 7*7 }}",
    "{% raw %}",
    "\\",
    "\u2028",
    "\x00",
    "\x1b[31m",
    "đĐ",
]
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
}
VOID = {"br", "meta", "img", "hr", "input", "link", "wbr"}
pieces = st.one_of(st.sampled_from(NASTY), st.text(min_size=1, max_size=40))
texts = st.lists(pieces, min_size=1, max_size=60).map("".join)
long_texts = st.one_of(texts, st.integers(3000, 10000).map(lambda n: "Lừa đảo <b>& " * (n // 13)))
CAP_SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "CAP-v1.2.xsd")
MESSAGES = {"alert": sample_message, "update": sample_update, "cancel": sample_cancel}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.opened: list[str] = []
        self.seen: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.seen.add(tag)
        if tag not in VOID:
            self.opened.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.seen.add(tag)

    def handle_endtag(self, tag):
        assert self.opened and self.opened[-1] == tag, f"unbalanced </{tag}>"
        self.opened.pop()

    def handle_data(self, data):
        self.text += data


def _check(channel: str, rendering) -> None:
    parts = rendering.parts
    if channel in ("cap", "atom"):
        ET.fromstring(parts["xml"].encode("utf-8"))
        if channel == "cap":
            CAP_SCHEMA.validate(parts["xml"])
        assert "<!ENTITY" not in parts["xml"] and "<!DOCTYPE" not in parts["xml"]
    elif channel in ("web", "email"):
        html = parts["html"]
        tags = _Tags()
        tags.feed(html)
        assert "script" not in tags.seen
        for name, value in rendering.headers.items():
            assert "\r" not in value and "\n" not in value, name
        if channel == "email":
            assert "\r" not in parts["subject"] and "\n" not in parts["subject"]
    elif channel == "telegram":
        for text in parts.values():
            tags = _Tags()
            tags.feed(text)
            tags.close()
            assert not tags.opened and tags.seen <= TELEGRAM_TAGS, tags.seen
            assert len(tags.text.encode("utf-16-le")) // 2 <= 4096
    elif channel == "sms":
        assert gsm.is_gsm7(parts["text"])
        assert rendering.counts["segments"] <= 2
    elif channel == "zalo":
        assert len(parts["text"]) <= 2000
        for name, value in parts.items():
            if name != "text":
                json.loads(value)
    elif channel == "webhook":
        json.loads(parts["json"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.sampled_from(sorted(MESSAGES)),
    headline=texts,
    description=long_texts,
    instruction=texts,
    reason=texts,
)
def test_every_renderer_stays_well_formed_or_refuses(
    kind, headline, description, instruction, reason
):
    content = sample_content(
        headline=clean_line(headline)[: LIMITS["headline"]] or "x",
        description=clean_text(description)[: LIMITS["description"]] or "x",
        instruction=clean_text(instruction)[: LIMITS["instruction"]] or "x",
        headline_en=clean_line(headline)[:160],
    )
    message = replace(MESSAGES[kind](), content=content, cancel_reason=clean_text(reason)[:1000])
    for channel, rendering in registry.preview(message, RenderSettings()).items():
        if isinstance(rendering, TooLong):
            assert rendering.channel and rendering.limit
            continue
        _check(channel, rendering)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(kind=st.sampled_from(sorted(MESSAGES)), claim=long_texts, description=long_texts)
def test_a_refutation_stays_well_formed_whatever_claim_it_quotes(kind, claim, description):
    content = sample_refutation(
        description=clean_text(description)[: LIMITS["description"]] or "x",
        refutation=Refutation(
            clean_text(claim)[: LIMITS["claim"]] or "x", ("http://vneid-capnhat.com/x",)
        ),
    )
    message = replace(MESSAGES[kind](), content=content)
    for channel, rendering in registry.preview(message, RenderSettings()).items():
        if isinstance(rendering, TooLong):
            assert rendering.channel and rendering.limit
            continue
        _check(channel, rendering)
