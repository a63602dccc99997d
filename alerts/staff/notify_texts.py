"""The words of the staff's work notices, in each person's language and each staff
channel's form.

The messages are English msgids marked with ``N_`` (so ``scripts/translations`` extracts
them) and translated with Babel outside any request (``alerts.i18n.translations``): the
worker writes them. Headlines and reasons are staff-written text: escaped for Telegram's HTML
and for email's HTML part, never interpreted.
"""

from __future__ import annotations

from html import escape

from alerts.errors import N_
from alerts.i18n import translations

Texts = tuple[str, str, str]  # (subject, text, html), as the notices outbox takes them

_EVENTS = {
    "submitted": (
        N_("A warning waits for your approval"),
        N_("“%(headline)s” of %(unit)s waits for your approval."),
    ),
    "reminder": (
        N_("Reminder: a warning waits for approval"),
        N_("“%(headline)s” of %(unit)s has waited more than %(minutes)s minutes for approval."),
    ),
    "approved": (
        N_("Your warning was approved"),
        N_("“%(headline)s” was approved and will be published at %(when)s."),
    ),
    "rejected": (
        N_("Your warning was returned"),
        N_("“%(headline)s” was returned to you. Reason: %(reason)s"),
    ),
    "published": (
        N_("Your warning was published"),
        N_("“%(headline)s” was published to residents."),
    ),
    "cancelled": (
        N_("A warning you wrote or approved was cancelled"),
        N_("“%(headline)s” of %(unit)s was cancelled at %(when)s. Reason: %(reason)s"),
    ),
    "superseded": (
        N_("A warning you wrote or approved was updated"),
        N_("“%(headline)s” of %(unit)s was replaced by an update published at %(when)s."),
    ),
}


def _shaped(channel: str, subject: str, lines: list[str]) -> Texts:
    """Return the texts in the channel's form: Telegram HTML, or email plain and HTML."""
    if channel == "telegram":
        return "", "\n".join(escape(line, quote=False) for line in lines), ""
    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return subject, "\n\n".join(lines), html


def code_texts(channel: str, code: str, lang: str) -> Texts:
    """Return the message that confirms a staff channel with its code."""
    words = translations(lang)
    lines = [
        words.gettext(N_("Confirmation code for your work notices: %(code)s. Valid 15 minutes."))
        % {"code": code},
        words.gettext(N_("Type it on your account page. Do not give it to anyone.")),
    ]
    return _shaped(channel, words.gettext(N_("Code for your work notices")), lines)


def event_texts(channel: str, event: str, lang: str, url: str, **words: object) -> Texts:
    """Return the notice of one event of a warning, with the link to its staff page;
    ``words`` fill the event's sentence (headline, unit, reason, minutes, when)."""
    catalogue = translations(lang)
    subject, sentence = (catalogue.gettext(message) for message in _EVENTS[event])
    first = sentence % words
    return _shaped(channel, f"{subject}: {words['headline']}"[:200], [first, url])
