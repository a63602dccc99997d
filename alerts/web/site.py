"""Site-wide views: the language switch (the front door is the portal's), and the language
carried from a resident page's URL to its links."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import has_request_context
from flask import redirect
from flask import request
from flask_login import current_user

from alerts.db import get_db
from alerts.i18n import LANG_ARG
from alerts.i18n import LANG_COOKIE
from alerts.i18n import LANGUAGES
from alerts.staff import languages
from alerts.web.auth import safe_next
from alerts.web.guards import public

bp = Blueprint("site", __name__)
ONE_YEAR = 365 * 24 * 3600
# Residents' pages, whose language is in the URL (staff pages keep the cookie's).
RESIDENT_BLUEPRINTS = {"portal", "verify", "subscribe", "report"}


@bp.route("/lang", methods=["POST"])
@public
def set_language():
    """Remember the chosen language in a cookie and go back to the page; a signed-in
    person's work notices follow it too, until they choose theirs on the account page."""
    response = redirect(safe_next(request.form.get("next")))
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, httponly=True, samesite="Lax")
        if current_user.is_authenticated:
            languages.remember_ui(get_db(), current_user.user.id, lang)
    return response


@bp.app_url_defaults
def _keep_the_language(endpoint: str, values: dict) -> None:
    """Give the links of a resident page in ``?lang=en`` the same ``lang``, so the language
    chosen in the URL stays chosen from page to page (documents have none)."""
    lang = request.args.get(LANG_ARG) if has_request_context() else None
    if lang not in LANGUAGES or LANG_ARG in values:
        return
    if endpoint.partition(".")[0] not in RESIDENT_BLUEPRINTS:
        return
    if not getattr(current_app.view_functions.get(endpoint), "same_in_every_language", False):
        values[LANG_ARG] = lang
