"""Facebook: a Page post (``POST /{page-id}/feed``) as parts "message" and "link".

The message is plain text, since Graph shows no markup: marks and headline, description,
instruction, the scam indicators (links defanged, so Facebook does not turn them into links),
the verification code, and a line of hashtags. "link" is the warning's short link, whose
Open Graph tags give the preview. The commonly cited cap of 63,206 characters
([UNVERIFIED], docs/channels.md#facebook) is kept by shortening the description.
"""

from __future__ import annotations

import re

from alerts.errors import N_
from alerts.render import Message
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import TooLong
from alerts.render.common import area_summary
from alerts.render.common import shorten
from alerts.render.common import template
from alerts.render.facts import facts
from alerts.render.gsm import strip_diacritics
from alerts.text import clean_text

CHANNEL = "facebook"
MEDIA_TYPE = "text/plain"
TEMPLATE = "facebook.txt"
LIMIT = 63206
HASHTAG_TYPE = {
    "scam_phone": "#CanhBaoLuaDao",
    "scam_online": "#CanhBaoLuaDao",
    "fake_link": "#CanhBaoLuaDao",
    "theft": "#PhongChongTromCap",
    "drugs": "#PhongChongMaTuy",
    "missing_person": "#TimNguoiMatTich",
    "wanted_person": "#TruyNa",
    "traffic": "#AnToanGiaoThong",
    "fake_news": "#DinhChinhTinGia",
    "other": "#CanhBaoAnNinhTratTu",
}
HASHTAG_MODE = {"Exercise": "#DienTap", "Test": "#ThuNghiem"}


def hashtag(name: str) -> str:
    """Return a name as a hashtag: "Công an phường Hoàn Kiếm" -> "#CongAnPhuongHoanKiem"."""
    words = re.findall(r"[A-Za-z0-9]+", strip_diacritics(name))
    return "#" + "".join(w[:1].upper() + w[1:] for w in words) if words else ""


def hashtags(message: Message) -> list[str]:
    """Return the post's hashtags: the drill mark, the kind of warning, the issuing unit."""
    tags = [HASHTAG_MODE.get(message.content.mode, ""), HASHTAG_TYPE[message.content.warning_type]]
    tags.append(hashtag(message.issuer_name))
    return [t for t in dict.fromkeys(tags) if t]


def _message(message: Message, shrunk: str) -> str:
    values = {
        "w": facts(message),
        "shrunk": shrunk,
        "instruction": clean_text(message.content.instruction),
        "area": area_summary(message),
        "hashtags": hashtags(message),
    }
    return template(TEMPLATE).render(**values).strip()


def render(message: Message, settings: RenderSettings) -> Rendering:
    """Render the Page post; raise TooLong if it cannot fit Graph's post length."""
    cancel = message.msg_type == "Cancel"
    shrunk = clean_text(message.cancel_reason if cancel else message.content.description)
    text = _message(message, shrunk)
    notes: list = []
    if len(text) > LIMIT:
        room = len(shrunk) - (len(text) - LIMIT)
        text = _message(message, shorten(shrunk, room, "…") if room > 0 else "")
        notes.append(
            (N_("The description was shortened to fit %(channel)s."), {"channel": "Facebook"})
        )
    if len(text) > LIMIT:
        raise TooLong("Facebook", "63,206 characters")
    return Rendering(
        channel=CHANNEL,
        media_type=MEDIA_TYPE,
        parts={"message": text, "link": message.url},
        counts={"characters": len(text)},
        notes=tuple(notes),
    )
