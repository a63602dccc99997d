"""The staff's admin pages under /admin: one blueprint, its views in the modules below.

The package owns ``bp`` and imports each view module explicitly (they register their routes
on it), so endpoint names stay ``admin.<view>`` wherever a view lives.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Imported after ``bp`` exists: each module registers its views on it.
from alerts.web.admin import channels  # noqa: E402, F401
from alerts.web.admin import dead_letters  # noqa: E402, F401
from alerts.web.admin import home  # noqa: E402, F401
from alerts.web.admin import reach  # noqa: E402, F401
from alerts.web.admin import reports  # noqa: E402, F401
from alerts.web.admin import users  # noqa: E402, F401
from alerts.web.admin import warning_templates  # noqa: E402, F401
