"""Debian's nginx, configured by config/nginx.conf.example, in front of the app served over
loopback (issue 17): cached hits, revalidation, a cancel showing within the bound, static
files without the app, gzip, and nothing with a CSRF token or a session ever handed from
the cache to another visitor. The shared lifetime is 2 s here (3 s bound), not 20 s."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from alerts.delivery.cache_purge import Purger
from alerts.web import page_cache
from tests import nginx_front
from tests.builders import CONFIG
from tests.builders import published
from tests.conftest import make_app
from tests.test_portal import cancel

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 2
BOUND = page_cache.visible_within(SECONDS)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

pytestmark = pytest.mark.skipif(
    not Path(nginx_front.NGINX).exists(),
    reason="nginx is not installed: scripts/test installs Debian's nginx-light as root"
    " (or: sudo apt-get install -y nginx-light)",
)


@pytest.fixture
def app(db_path):
    return make_app(
        db_path,
        SIGNING_KEY=CONFIG["SIGNING_KEY"],
        PUBLIC_URL=CONFIG["PUBLIC_URL"],
        PORTAL_CACHE_SECONDS=SECONDS,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def proxy(live_server, tmp_path):
    """nginx on a free loopback port in front of the live app; its base URL."""
    port = _free_port()
    server = nginx_front.start(tmp_path, live_server.removeprefix("http://"), port)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def _status(response: httpx.Response) -> str:
    return response.headers.get("X-Cache-Status", "")


def test_a_warning_page_is_served_from_the_cache_and_revalidated(proxy, db, tmp_path):
    alert = published(db)
    url = f"{proxy}/a/{alert.code}"
    first = httpx.get(url)
    assert first.status_code == 200 and _status(first) == "MISS"
    again = httpx.get(url)
    assert _status(again) == "HIT" and again.content == first.content
    # Browsers check back here on every view (nginx sends no Age): a 304 from the cache.
    assert again.headers["Cache-Control"] == "no-cache"
    etag = again.headers["ETag"]  # the app's, weakened by nginx's gzip
    mine = httpx.get(url, headers={"If-None-Match": etag})
    assert mine.status_code == 304 and _status(mine) == "HIT" and mine.content == b""
    # Past its lifetime and stale window, nginx asks the app with If-None-Match: a 304.
    time.sleep(BOUND + 1)
    later = httpx.get(url)
    assert _status(later) == "REVALIDATED", (tmp_path / "error.log").read_text()
    assert later.content == first.content
    assert _status(httpx.get(url)) == "HIT"


def test_a_cancel_shows_through_the_cache_within_the_bound(proxy, db):
    alert = published(db)
    url = f"{proxy}/a/{alert.code}?lang=en"
    assert "In force until" in httpx.get(url).text
    assert _status(httpx.get(url)) == "HIT"
    cancelled = time.monotonic()
    cancel(db, alert)
    while "This warning was cancelled" not in httpx.get(url).text:
        assert time.monotonic() - cancelled <= BOUND + 1, "the cancel did not show in time"
        time.sleep(0.2)
    assert "HỦY" in httpx.get(f"{proxy}/a/{alert.code}.cap").text


def test_the_workers_refresh_shows_a_cancel_at_once(proxy, db):
    """The worker's purge hook against stock nginx: GET /refresh<path> from this machine
    stores the app's current page under the public key (config/nginx.conf.example)."""
    alert = published(db)
    url = f"{proxy}/a/{alert.code}?lang=en"
    purger = Purger(db, {"CACHE_PURGE_URL": proxy + "/refresh{path}"})  # GET, the default
    assert "In force until" in httpx.get(url).text and _status(httpx.get(url)) == "HIT"
    cancelled = time.monotonic()
    cancel(db, alert)
    stale = httpx.get(url)  # without the refresh: the copy from before the cancel
    assert _status(stale) == "HIT" and "This warning was cancelled" not in stale.text
    assert f"/a/{alert.code}?lang=en" in purger.purge_changes(db)
    fresh = httpx.get(url)
    assert _status(fresh) == "HIT" and "This warning was cancelled" in fresh.text
    assert time.monotonic() - cancelled < BOUND / 3
    assert "HỦY" in httpx.get(f"{proxy}/a/{alert.code}.cap").text


def test_a_refresh_from_elsewhere_is_refused_and_changes_nothing(proxy, db):
    """Only 127.0.0.1 may refresh: another address (127.0.0.2 is not it) gets a 403."""
    alert = published(db)
    path = f"/a/{alert.code}?lang=en"
    assert _status(httpx.get(proxy + path)) == "MISS"
    cancel(db, alert)
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=elsewhere) as outsider:
        refused = outsider.get(f"{proxy}/refresh{path}")
    assert refused.status_code == 403 and "cancelled" not in refused.text
    kept = httpx.get(proxy + path)
    assert _status(kept) == "HIT" and "This warning was cancelled" not in kept.text


def test_no_page_with_a_csrf_token_or_a_session_comes_from_the_cache(proxy, db):
    tokens = set()
    for url in ("/r/00070/remember", "/auth/login", "/subscribe", "/verify"):
        for _visitor in range(2):
            response = httpx.get(proxy + url)  # a new visitor: no cookie
            assert response.status_code == 200, url
            assert _status(response) != "HIT", url
            assert "Set-Cookie" in response.headers, url
            tokens.update(CSRF.findall(response.text))
    assert len(tokens) == 8  # every visitor got a token of their own
    # The staff session never reads from the cache nor writes into it.
    published(db)
    assert _status(httpx.get(proxy + "/")) == "MISS"
    assert _status(httpx.get(proxy + "/")) == "HIT"
    staff = httpx.get(proxy + "/", cookies={"alerts_session": "x"})
    assert _status(staff) == "BYPASS"


def test_a_language_cookie_is_redirected_not_served_the_other_copy(proxy, db):
    assert _status(httpx.get(proxy + "/r/01")) == "MISS"
    assert _status(httpx.get(proxy + "/r/01")) == "HIT"
    english = httpx.get(proxy + "/r/01", cookies={"lang": "en"})
    assert english.status_code == 302 and english.headers["Location"] == "/r/01?lang=en"
    assert _status(httpx.get(proxy + "/r/01", cookies={"lang": "en"})) != "HIT"
    page = httpx.get(proxy + "/r/01?lang=en")
    assert '<html lang="en">' in page.text


def test_static_files_come_from_nginx_and_pages_are_gzipped(proxy, db):
    script = httpx.get(proxy + "/static/portal.js")
    assert script.content == (ROOT / "alerts" / "static" / "portal.js").read_bytes()
    assert "X-Cache-Status" not in script.headers  # nginx's own file, not the app's
    assert "max-age=3600" in script.headers["Cache-Control"]
    page = httpx.get(proxy + "/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and '<html lang="vi">' in page.text
