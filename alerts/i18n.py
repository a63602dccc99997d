"""Vietnamese by default, English on request; dates shown in Asia/Ho_Chi_Minh.

Message ids are English; ``alerts/translations/vi`` holds the Vietnamese catalogue. The
chosen language lives in its own cookie so that it survives signing out. Residents' pages
carry it in the URL instead (``?lang=en``), which wins over the cookie: a cached public page
then depends on its URL alone (alerts/web/page_cache.py).
"""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import request
from flask_babel import Babel
from flask_babel import get_locale

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
LANG_COOKIE = "lang"
LANG_ARG = "lang"


def select_locale() -> str:
    """Return the language of this request: the URL's, the cookie's, else the default."""
    for chosen in (request.args.get(LANG_ARG), request.cookies.get(LANG_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return current_app.config["DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    """Attach Flask-Babel with our locale selector."""
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
