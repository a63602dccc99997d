"""SMS: the warning in a few GSM-7 segments, without diacritics.

Vietnamese brandname SMS goes without diacritics: one accented letter forces UCS-2 (70
characters a segment instead of 160) and carriers restrict Unicode. The text keeps, in this
order, the marks and the headline, the key instruction (the first sentence of the first actual
advice, past a lead-in such as "... khuyến cáo người dân:"), the verification code, the short
link and, in a resident's copy, their stop link, within ``RenderSettings.sms_max_segments``.
The headline and the instruction are shortened between words with "..."; the code and the
links never are. Words that turn ambiguous once folded ("ma": mã, mà, ma, má) are pointed out
to the approver, and so is an SMS that would carry no advice.
"""

from __future__ import annotations

import re

from alerts.errors import N_
from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render import gsm
from alerts.render.common import shorten
from alerts.render.common import template
from alerts.render.common import title_prefix

CHANNEL = "sms"
MEDIA_TYPE = "text/plain"
TEMPLATE = "sms.txt"
# A headline cut shorter than this no longer says what the warning is about.
MIN_HEADLINE = 30
# An instruction cut shorter than this is left out rather than sent as a stub.
MIN_KEY = 20
# Room the instruction keeps when the text must be shortened: the headline gives way down to
# MIN_HEADLINE first, so a long headline does not leave the advice a stub ("Kiem tra...").
KEY_ROOM = 60
# Folded words that read differently in a warning depending on the lost diacritics.
AMBIGUOUS = {
    "ma": ("mã", "mà", "má", "ma", "mạ"),
    "tien": ("tiền", "tiến", "tiên", "tiễn"),
    "ban": ("bạn", "bán", "bàn", "bản", "ban"),
    "lua": ("lừa", "lúa", "lửa", "lụa"),
    "dao": ("đảo", "đạo", "dao", "đào"),
    "co": ("có", "cô", "cơ", "cổ", "cờ"),
    "tai": ("tài", "tại", "tải", "tai"),
    "khoan": ("khoản", "khoan"),
    "the": ("thẻ", "thế", "thể", "the"),
    "mat": ("mật", "mất", "mặt", "mát"),
    "ngan": ("ngân", "ngăn", "ngàn", "ngắn"),
    "hang": ("hàng", "hãng", "hạng", "hang"),
    "lai": ("lãi", "lại", "lái", "lai"),
    "cap": ("cấp", "cắp", "cáp", "cặp"),
    "chuyen": ("chuyển", "chuyên", "chuyện", "chuyến"),
    "goi": ("gọi", "gói", "gối"),
    "so": ("số", "sổ", "sợ", "sơ"),
    "thu": ("thư", "thu", "thử", "thủ"),
    "vay": ("vay", "vậy", "váy", "vây"),
    "danh": ("danh", "đánh", "dành"),
    "dang": ("đang", "đăng", "dạng", "đảng"),
    "nap": ("nạp", "nắp"),
    "tre": ("trẻ", "trễ", "tre"),
}
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_WORD = re.compile(r"[a-z]+")
# A list item's mark: "-", "•", "+", "*", "1.", "2)", "a)".
_BULLET = re.compile(r"^(?:[-–—•·*+]+\s*|\(?(?:\d{1,2}|[a-zđ])[.)]\s+)")


def first_sentence(text: str) -> str:
    """Return the first sentence of the first line (a sentence shorter than 15 characters,
    such as "TP.", runs on to the next end)."""
    line = text.strip().split("\n", 1)[0]
    for end in _SENTENCE_END.finditer(line):
        if end.start() >= 15:
            return line[: end.end()]
    return line


def first_advice(instruction: str) -> str:
    """Return the first sentence of the first actual advice, or "" if there is none.

    Instructions usually open with a lead-in ("Công an phường khuyến cáo người dân:") and
    give the advice as a list below it; the lead-in alone tells a resident nothing, so a
    line ending with a colon is passed over, and a list item is taken without its mark.
    """
    for line in instruction.split("\n"):
        line = _BULLET.sub("", line.strip()).strip()
        if line.endswith(":") or not any(ch.isalnum() for ch in line):
            continue
        return first_sentence(line)
    return ""


def ambiguous_notes(text: str) -> list[tuple[str, dict]]:
    """Return one note per folded word of ``text`` that can be read in several ways."""
    found = dict.fromkeys(w for w in _WORD.findall(text.lower()) if w in AMBIGUOUS)
    return [
        (
            N_('Without diacritics, "%(word)s" can be read as %(readings)s.'),
            {"word": word, "readings": " / ".join(AMBIGUOUS[word])},
        )
        for word in found
    ]


def _text(values: dict) -> str:
    return template(TEMPLATE).render(**values)


def _too_long(segments: int) -> TooLong:
    if segments == 1:
        return TooLong("SMS", "1 segment of 160 characters")
    return TooLong("SMS", f"{segments} segments of 153 characters")


def _fit(values: dict, segments: int, notes: list) -> dict:
    """Return the values shortened so the text fits ``segments``; raise TooLong if it can't."""
    budget = gsm.capacity(segments)
    base = len(_text({**values, "headline": "", "key": ""}))
    key_cost = len(_text({**values, "headline": "", "key": "x"})) - base - 1
    room = budget - base
    headline, key = values["headline"], values["key"]
    if room < min(len(headline), MIN_HEADLINE):
        raise _too_long(segments)
    headline_room = max(MIN_HEADLINE, room - key_cost - min(len(key), KEY_ROOM)) if key else room
    if len(headline) > min(room, headline_room):
        headline = shorten(headline, min(room, headline_room))
        notes.append((N_("The headline was shortened to fit %(channel)s."), {"channel": "SMS"}))
    left = room - len(headline) - key_cost
    if key and len(key) > left:
        key = shorten(key, left) if left >= MIN_KEY else ""
        if key:
            notes.append(
                (N_("The instruction was shortened to fit %(channel)s."), {"channel": "SMS"})
            )
        else:
            notes.append(
                (N_("The instruction was left out to fit %(channel)s."), {"channel": "SMS"})
            )
    return {**values, "headline": headline, "key": key}


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the SMS text; raise TooLong if even a minimal one exceeds the segment budget."""
    cancel = message.msg_type == "Cancel"
    key = message.cancel_reason if cancel else first_advice(message.content.instruction)
    marks = gsm.to_gsm7(title_prefix(message), extension=False)
    values = {
        "marks": f"{marks} " if marks else "",
        "headline": gsm.to_gsm7(message.content.headline, extension=False).replace("\n", " "),
        "key": gsm.to_gsm7(key, extension=False).replace("\n", " "),
        "cancel": cancel,
        "code": message.display_code,
        "url": message.url,
        # A resident's SMS carries their own stop link (the HUY keyword works as well).
        "stop": settings.unsubscribe_url,
    }
    segments = max(settings.sms_max_segments, 1)
    notes: list = []
    if not cancel and not key:
        notes.append(
            (
                N_(
                    "The SMS carries no advice: the instruction has nothing after its"
                    " introduction. Write what residents should do."
                ),
                {},
            )
        )
    text = _text(values)
    if gsm.count(text).segments > segments:
        values = _fit(values, segments, notes)
        text = _text(values)
    counted = gsm.count(text)
    if counted.segments > segments or counted.encoding != gsm.GSM7:
        raise _too_long(segments)
    notes.extend(ambiguous_notes(f"{values['headline']}\n{values['key']}"))
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"text": text},
        counts={
            "characters": counted.characters,
            "segments": counted.segments,
            "encoding": counted.encoding,
        },
        notes=tuple(notes),
    )
