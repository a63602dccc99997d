"""alerts: the crime- and scam-warning broadcaster of Vietnam's police."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app: settings, database, translations, commands and views.

    ``test_config`` replaces the environment and config/.env entirely (tests never read
    them). A bad setting stops here with a message naming it (``ConfigError``).
    """
    from alerts import api
    from alerts import cli
    from alerts import config
    from alerts import db
    from alerts import i18n
    from alerts import web

    settings = config.load(test_config)
    app = Flask(
        __name__,
        template_folder=str(config.TEMPLATES_DIR),
        instance_relative_config=True,
    )
    app.config.update(settings)
    app.config.update(config.flask_settings(settings))
    if not app.config["DATABASE"]:
        app.config["DATABASE"] = str(Path(app.instance_path) / "alerts.db")
    db.init_app(app)
    i18n.init_app(app)
    cli.init_app(app)
    web.init_app(app)
    api.init_app(app)
    return app
