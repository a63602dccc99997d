"""Settings: defaults, environment and .env precedence, and clear errors at start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alerts import config
from alerts import create_app
from alerts.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_test_config_is_testing_mode(db_path):
    app = create_app({"DATABASE": str(db_path)})
    assert app.testing
    assert app.config["DATABASE"] == str(db_path)
    assert app.config["DEFAULT_LOCALE"] == "vi"


def test_default_app_is_not_testing(tmp_path, monkeypatch):
    monkeypatch.setenv("ALERTS_DATABASE", str(tmp_path / "x.db"))
    app = create_app()
    assert not app.testing
    assert app.config["ENV"] == "development"


def test_malformed_setting_is_named():
    with pytest.raises(ConfigError, match="ALERTS_BUSY_TIMEOUT_MS must be a positive whole number"):
        config.parse_settings({"BUSY_TIMEOUT_MS": "soon"})


def test_unknown_timezone_is_named():
    with pytest.raises(ConfigError, match="ALERTS_DISPLAY_TIMEZONE"):
        config.parse_settings({"DISPLAY_TIMEZONE": "Mars/Olympus"})


def test_production_refuses_the_development_key():
    with pytest.raises(ConfigError, match="ALERTS_SECRET_KEY must be set in production"):
        config.parse_settings({"ENV": "production"})
    with pytest.raises(ConfigError, match="at least 32"):
        config.parse_settings({"ENV": "production", "SECRET_KEY": "short"})


def test_production_requires_totp_by_default():
    settings = config.parse_settings({"ENV": "production", "SECRET_KEY": "x" * 40})
    assert settings["REQUIRE_TOTP"] is True
    assert config.flask_settings(settings)["SESSION_COOKIE_SECURE"] is True
    assert config.parse_settings({})["REQUIRE_TOTP"] is False


def test_environment_wins_over_dotenv(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("ALERTS_BUSY_TIMEOUT_MS=1234\nALERTS_DEFAULT_LOCALE=en\n")
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    raw = config.read_environment({"ALERTS_DEFAULT_LOCALE": "vi", "OTHER": "x"})
    assert raw == {"BUSY_TIMEOUT_MS": "1234", "DEFAULT_LOCALE": "vi"}


def test_bad_setting_stops_flask_with_one_clear_line(tmp_path):
    env = {
        **os.environ,
        "ALERTS_SESSION_IDLE_MINUTES": "-5",
        "ALERTS_DATABASE": str(tmp_path / "a.db"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "alerts", "init-db"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "ALERTS_SESSION_IDLE_MINUTES must be a positive whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_example_documents_every_setting():
    text = (ROOT / "config" / ".env.example").read_text()
    documented = set(re.findall(r"^ALERTS_([A-Z_]+)=", text, re.MULTILINE))
    assert documented == {s.name for s in config.SETTINGS}
