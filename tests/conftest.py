"""Fixtures: a fresh SQLite file per test, copied from one migrated and seeded template.

Building the map (3,356 units) and hashing the demo password once per session keeps each
test fast while every test still gets its own real database file in WAL mode.
"""

from __future__ import annotations

import re
import shutil

import pytest

from alerts import create_app
from alerts import migrations
from alerts import seed
from alerts.audit import Actor
from alerts.db import open_db
from alerts.models import Acting
from alerts.staff import api_tokens as tokens
from alerts.store import units as unit_store
from alerts.store import users as user_store

DEMO_PASSWORD = seed.DEMO_PASSWORD
# What a user chooses at their first sign-in after an admin set their password.
OWN_PASSWORD = "my own long passphrase 2026"
pytest_plugins = ["tests.browser_fixtures"]
_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A database with the schema, the map, the units and the demo users."""
    path = tmp_path_factory.mktemp("template") / "alerts.db"
    db = open_db(path)
    migrations.apply(db)
    seed.load_reference_data(db)
    seed.seed_demo_users(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db_path(template_db, tmp_path):
    """This test's own copy of the template database."""
    path = tmp_path / "alerts.db"
    shutil.copy(template_db, path)
    return path


def make_app(db_path, **overrides):
    """Build an app on a database file with test settings."""
    return create_app({"DATABASE": str(db_path), "SECRET_KEY": "test-secret", **overrides})


@pytest.fixture
def app(db_path):
    """The app on this test's database."""
    return make_app(db_path)


@pytest.fixture
def client(app):
    """A test client (cookies kept between requests)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `flask --app alerts ...` commands."""
    return app.test_cli_runner()


@pytest.fixture
def db(db_path):
    """A direct connection to this test's database, for assertions."""
    conn = open_db(db_path)
    yield conn
    conn.close()


def csrf_token(client, url: str) -> str:
    """Return the CSRF token from the form on a page."""
    html = client.get(url).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def sign_in(client, username: str, password: str = DEMO_PASSWORD, **extra):
    """Submit the sign-in form like a browser and return the response."""
    token = csrf_token(client, "/auth/login")
    data = {"csrf_token": token, "username": username, "password": password, **extra}
    return client.post("/auth/login", data=data)


def sign_in_first_time(client, username: str, given: str, own: str = OWN_PASSWORD):
    """Sign in with a password an admin chose, then choose one's own as the app demands."""
    assert sign_in(client, username, given).status_code == 302
    data = {"current_password": given, "new_password": own}
    response = post_form(client, "/account/", data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post_form(client, url: str, data: dict, form_page: str | None = None):
    """POST a form with the CSRF token taken from its page (default: the same URL)."""
    token = csrf_token(client, form_page or url)
    return client.post(url, data={"csrf_token": token, **data})


def acting_as(db, username: str) -> Acting:
    """Return a demo user as acting now (for calling the domain directly)."""
    user = user_store.get_user_by_username(db, username)
    unit = unit_store.get_unit(db, user.unit_id)
    return Acting(user, unit, Actor(username, unit.code, "127.0.0.1"))


@pytest.fixture
def auth(db):
    """Return ``auth(username)``: headers carrying a fresh token of that demo user."""
    issued: dict[str, dict] = {}

    def headers(username: str) -> dict:
        if username not in issued:
            _token, secret = tokens.create_token(db, Actor("cli", "bca"), username, "tests")
            issued[username] = {"Authorization": f"Bearer {secret}"}
        return issued[username]

    return headers


@pytest.fixture
def fake_channels():
    """Every fake channel API (``tests.fakes.server.FakeChannels``) on a free loopback port,
    started for this test and stopped after it: ``.url`` and ``.state``."""
    from tests.fakes.server import FakeChannels

    with FakeChannels() as fake:
        yield fake


@pytest.fixture
def fakes():
    """Every fake channel API as ``tests.delivery_setup.running_fakes`` starts it (the fake
    servers and their state, as the delivery and inbound tests use them)."""
    from tests.delivery_setup import running_fakes

    with running_fakes() as started:
        yield started


@pytest.fixture
def plain_http():
    """A plain synchronous client, for the tests that talk to a fake server directly (what
    the fake accepts and answers), not through a channel client."""
    import httpx

    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        yield client


@pytest.fixture
async def http():
    """The engine's own client (its transport, no redirects, 5 s timeouts), which the channel
    client tests send through (``tests.channel_helpers.http_client`` makes a shorter one)."""
    from tests.channel_helpers import http_client

    async with http_client() as client:
        yield client
