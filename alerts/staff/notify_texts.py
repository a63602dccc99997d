"""The words of the staff's work notices, in Vietnamese, in each staff channel's form.

Headlines and reasons are staff-written text: escaped for Telegram's HTML and for email's
HTML part, never interpreted.
"""

from __future__ import annotations

from html import escape

Texts = tuple[str, str, str]  # (subject, text, html), as the notices outbox takes them

_EVENTS = {
    "submitted": (
        "Cảnh báo chờ bạn duyệt",
        "«{headline}» của {unit} đang chờ bạn duyệt.",
    ),
    "reminder": (
        "Nhắc duyệt cảnh báo",
        "«{headline}» của {unit} đã chờ duyệt hơn {minutes} phút.",
    ),
    "approved": (
        "Cảnh báo của bạn đã được duyệt",
        "«{headline}» đã được duyệt và sẽ phát hành vào giờ đã hẹn.",
    ),
    "rejected": (
        "Cảnh báo của bạn bị trả lại",
        "«{headline}» bị trả lại cho bạn. Lý do: {reason}",
    ),
    "published": (
        "Cảnh báo của bạn đã phát hành",
        "«{headline}» đã được phát hành tới người dân.",
    ),
}


def _shaped(channel: str, subject: str, lines: list[str]) -> Texts:
    """Return the texts in the channel's form: Telegram HTML, or email plain and HTML."""
    if channel == "telegram":
        return "", "\n".join(escape(line, quote=False) for line in lines), ""
    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return subject, "\n\n".join(lines), html


def code_texts(channel: str, code: str) -> Texts:
    """Return the message that confirms a staff channel with its code."""
    lines = [
        f"Mã xác nhận kênh nhận thông báo công việc: {code}. Mã có hiệu lực 15 phút.",
        "Nhập mã này ở trang tài khoản của bạn. Không đưa mã cho ai.",
    ]
    return _shaped(channel, "Mã xác nhận kênh thông báo", lines)


def event_texts(
    channel: str, event: str, *, headline: str, unit: str, url: str, reason: str, minutes: int
) -> Texts:
    """Return the notice of one event of a warning, with the link to its staff page."""
    subject, sentence = _EVENTS[event]
    first = sentence.format(headline=headline, unit=unit, reason=reason, minutes=minutes)
    return _shaped(channel, f"{subject}: {headline}"[:200], [first, url])
