"""Site-wide views: the language switch (the front door is the portal's)."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import request

from alerts.i18n import LANG_COOKIE
from alerts.i18n import LANGUAGES
from alerts.web.auth import safe_next
from alerts.web.guards import public

bp = Blueprint("site", __name__)
ONE_YEAR = 365 * 24 * 3600


@bp.route("/lang", methods=["POST"])
@public
def set_language():
    """Remember the chosen language in a cookie and go back to the page."""
    response = redirect(safe_next(request.form.get("next")))
    lang = request.form.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, httponly=True, samesite="Lax")
    return response
