"""The REST API under /api/v1: JSON for partners' scripts, authenticated by personal tokens.

Every rule is the workflow's: the API only translates HTTP to domain calls and domain
refusals to RFC 9457 problems. Session cookies never authenticate here, so the API needs
no CSRF token (a browser cannot attach a bearer token on its own).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    """Register the API; call after ``web.init_app`` (it needs the CSRF extension)."""
    from alerts.api import openapi  # noqa: F401  (registers its views on bp)
    from alerts.api import problems
    from alerts.api import reference  # noqa: F401
    from alerts.api import reports  # noqa: F401
    from alerts.api import views  # noqa: F401

    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(bp)
    problems.init_app(app)
