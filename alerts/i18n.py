"""Vietnamese by default, English on request; dates shown in Asia/Ho_Chi_Minh.

Message ids are English; ``alerts/translations/vi`` holds the Vietnamese catalogue. The
chosen language lives in its own cookie so that it survives signing out. Residents' pages
carry it in the URL instead (``?lang=en``), which wins over the cookie: a cached public page
then depends on its URL alone (alerts/web/page_cache.py).

Dates are written by our own patterns, never a locale's "short" form: Vietnamese readers get
dd/mm/yyyy, and English readers the month's name (3 Dec 2026), since the US form 12/3/26
reads as 12 March to a Vietnamese reader.

The worker has no request: what it writes to a person in their own language (the staff's
work notices) goes through ``translations`` and ``moment_in``, Babel without Flask.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_datetime
from babel.support import NullTranslations
from babel.support import Translations
from flask import Flask
from flask import current_app
from flask import request
from flask_babel import Babel
from flask_babel import format_date
from flask_babel import format_datetime
from flask_babel import get_locale

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
LANG_COOKIE = "lang"
LANG_ARG = "lang"
MOMENT_FORMATS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}
DAY_FORMATS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DAY_MONTH_FORMATS = {"vi": "dd/MM", "en": "d MMM"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    """Return the language of this request: the URL's, the cookie's, else the default."""
    for chosen in (request.args.get(LANG_ARG), request.cookies.get(LANG_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return current_app.config["DEFAULT_LOCALE"]


def show_moment(moment: datetime) -> str:
    """Write a time and its day in the reader's language, in the display time zone."""
    return format_datetime(moment, MOMENT_FORMATS[_language()])


def show_day(moment: datetime) -> str:
    """Write a day in the reader's language (dd/mm/yyyy, or 3 Dec 2026)."""
    return format_datetime(moment, DAY_FORMATS[_language()])


def show_calendar_day(day: date, short: bool = False) -> str:
    """Write a calendar day (no time, no zone: a week's Monday) in the reader's language,
    without its year if ``short`` (a chart's axis, whose table beside gives the year)."""
    return format_date(day, (DAY_MONTH_FORMATS if short else DAY_FORMATS)[_language()])


def _language() -> str:
    locale = get_locale()
    return locale.language if locale and locale.language in LANGUAGES else "vi"


@cache
def translations(lang: str) -> NullTranslations:
    """Return the catalogue of a language outside any request: English is the msgids
    themselves, anything else Vietnamese."""
    if lang == "en":
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), ["vi"], domain="messages")


def moment_in(moment: datetime, lang: str, zone: str) -> str:
    """Write a time and its day as ``show_moment`` does, outside any request."""
    pattern = MOMENT_FORMATS.get(lang, MOMENT_FORMATS["vi"])
    return babel_datetime(moment, pattern, tzinfo=ZoneInfo(zone), locale=lang)


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with our locale selector."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
