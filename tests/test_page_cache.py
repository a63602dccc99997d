"""The portal under caching (issue 17): the headers of every public route, 304s, nothing per
visitor in what caches keep, the app's own page cache and its version, and the purge hook."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from flask import make_response
from flask import render_template_string

from alerts.clock import utcnow
from alerts.delivery.cache_purge import Purger
from alerts.store import portal_changes
from alerts.warnings import workflow
from alerts.web import page_cache
from alerts.web.page_cache import PageCache
from alerts.web.page_cache import Rendered
from alerts.web.portal import KEY_PATH
from tests.builders import CONFIG
from tests.builders import draft
from tests.builders import published
from tests.conftest import acting_as
from tests.conftest import make_app
from tests.conftest import post_form
from tests.conftest import sign_in
from tests.fakes.purge import FakePurge
from tests.test_portal import cancel
from tests.test_portal import update

SHARED = page_cache.cache_control(20)
PURGE = {"CACHE_PURGE_METHOD": "PURGE"}  # Varnish, a CDN: the fake takes PURGE


@pytest.fixture
def app(db_path):
    return make_app(db_path, SIGNING_KEY=CONFIG["SIGNING_KEY"], PUBLIC_URL=CONFIG["PUBLIC_URL"])


def public_urls(code: str) -> list[str]:
    """Every public route, pages in both languages."""
    pages = ["/", "/r/vn", "/r/01", "/r/00070", f"/a/{code}", "/about/verify", "/?q=hoan"]
    documents = [f"/a/{code}.cap", f"/a/{code}.sig", "/feeds/vn.atom", "/feeds/00070.atom"]
    documents += [KEY_PATH, "/regions.json?q=hoan"]
    return [*pages, *(f"{p}{'&' if '?' in p else '?'}lang=en" for p in pages), *documents]


def test_every_public_route_goes_through_the_page_cache(app):
    """A new public GET route must be cached (or listed here as per visitor)."""
    per_visitor = {"portal.my_area", "portal.remember"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("portal.") and "GET" in rule.methods:
            view = app.view_functions[rule.endpoint]
            cached = hasattr(view, "same_in_every_language")
            assert cached != (rule.endpoint in per_visitor), rule.endpoint


def test_every_public_route_is_shared_validated_and_answers_304(client, db):
    alert = published(db)
    for url in public_urls(alert.code):
        response = client.get(url)
        assert response.status_code == 200, url
        lifetime = SHARED if "regions.json" not in url else page_cache.cache_control(3600)
        assert response.headers["Cache-Control"] == lifetime, url
        assert "Set-Cookie" not in response.headers and "Vary" not in response.headers, url
        etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
        assert etag.startswith('"') and len(etag) == 34, url  # strong
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"", url
        assert again.headers["Cache-Control"] == lifetime, url
        since = client.get(url, headers={"If-Modified-Since": modified})
        assert since.status_code == 304, url
        other = client.get(url, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.data == response.data, url


def test_a_search_page_rendered_again_a_second_later_keeps_its_last_modified(client, db):
    """A page with a query is rendered per request, not kept: its validators are, so the
    same bytes a second later still answer a revalidation by date with a 304."""
    published(db)
    first = client.get("/?q=hoan&lang=en")
    time.sleep(1.05)  # Last-Modified has a second's resolution
    again = client.get(
        "/?q=hoan&lang=en", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert again.status_code == 304
    assert client.get("/?q=hoan&lang=en").headers["Last-Modified"] == first.headers["Last-Modified"]


def test_forms_and_per_visitor_answers_are_private_no_store(client, db):
    for url in ("/r/00070/remember", "/my-area", "/auth/login", "/verify", "/subscribe"):
        assert client.get(url).headers["Cache-Control"] == "private, no-store", url
    assert client.get("/a/NOTACODE").headers["Cache-Control"] == "private, no-store"
    response = post_form(client, "/r/00070/remember", {}, form_page="/r/00070/remember")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_cached_bodies_hold_nothing_of_the_visitor(app, db):
    """A signed-in officer with a remembered commune, a session, a CSRF token and a flash
    waiting gets byte for byte what a first-time visitor gets."""
    alert = published(db)
    known, stranger = app.test_client(), app.test_client()
    assert sign_in(known, "hoankiem.canbo").status_code == 302
    post_form(known, "/r/00070/remember", {}, form_page="/r/00070/remember")
    known.set_cookie("lang", "vi")
    for url in public_urls(alert.code):
        theirs, first_time = known.get(url), stranger.get(url)
        assert theirs.data == first_time.data, url
        assert theirs.headers["ETag"] == first_time.headers["ETag"], url
        html = theirs.get_data(as_text=True)
        for personal in ("csrf_token", "hoankiem.canbo", "Your area", "Địa bàn của bạn"):
            assert personal not in html, (url, personal)
        assert "Set-Cookie" not in theirs.headers, url
    # The officer's session and remembered commune still work where they belong.
    assert known.get("/my-area").status_code == 200
    assert known.get("/admin/warnings/").status_code == 200


def test_a_hot_page_is_rendered_once_per_change(client, db):
    alert = published(db)
    url = f"/a/{alert.code}?lang=en"
    first = client.get(url).data
    # Behind the cache's back (a change no trigger sees): the kept page is served as it was.
    db.execute("UPDATE regions SET name = 'Phường Đổi Tên' WHERE code = '00070'")
    db.conn.commit()
    assert client.get(url).data == first
    cancel(db, alert)  # the version moves in the cancel's transaction
    after = client.get(url).get_data(as_text=True)
    assert "This warning was cancelled" in after and "Phường Đổi Tên" in after


def test_the_version_moves_with_each_change_residents_see(db):
    seen = [portal_changes.version(db)]
    alert = published(db)
    seen.append(portal_changes.version(db))
    second = update(db, alert, "Cảnh báo cập nhật: thêm số điện thoại lừa đảo")
    seen.append(portal_changes.version(db))
    cancel(db, second)
    seen.append(portal_changes.version(db))
    other = published(db, headline="Cảnh báo sẽ hết hạn")
    seen.append(portal_changes.version(db))
    assert other.id in workflow.expire_due(db, utcnow() + timedelta(days=400))
    seen.append(portal_changes.version(db))
    assert seen == sorted(set(seen)), seen  # strictly increasing
    workflow.create(db, acting_as(db, "hoankiem.canbo"), draft(), config=CONFIG)
    assert portal_changes.version(db) == seen[-1]  # a draft is nobody's business


def test_the_page_cache_is_bounded_and_drops_the_least_recently_used():
    cache = PageCache(max_bytes=250)

    def entry(size: int) -> Rendered:
        return Rendered(b"x" * size, "text/html", (), "e", utcnow(), 1, 0.0)

    for key in ("a", "b"):
        cache.put((key,), entry(100))
    assert cache.get(("a",)) is not None  # a is now the most recent
    cache.put(("c",), entry(100))
    assert cache.get(("b",)) is None and cache.get(("a",)) and cache.get(("c",))
    assert cache.size == 200 and len(cache) == 2
    cache.put(("huge",), entry(1000))  # larger than the whole cache: not kept
    assert cache.get(("huge",)) is None and cache.size <= 250


def test_the_worker_purges_what_a_change_touched(db):
    with FakePurge(held={"/", "/r/01"}) as fake:
        purger = Purger(db, {"CACHE_PURGE_URL": fake.url + "/purge{path}", **PURGE})
        assert purger.purge_changes(db) == [] and fake.received == []
        alert = published(db)
        paths = purger.purge_changes(db)
        received = {path for method, path in fake.received if method == "PURGE"}
        assert received == set(paths)
        for path in ("/", f"/a/{alert.code}", f"/a/{alert.code}?lang=en", "/r/00070"):
            assert path in received, path
        for path in ("/r/01", "/r/vn", "/feeds/00070.atom", "/feeds/01.atom", "/feeds/vn.atom"):
            assert path in received, path
        assert f"/a/{alert.code}.cap" in received and "/r/48" not in received
        assert fake.held == set()
        fake.received.clear()
        assert purger.purge_changes(db) == [] and fake.received == []  # nothing new
        cancel(db, alert)
        assert f"/a/{alert.code}.sig" in purger.purge_changes(db)


def test_a_failing_purge_is_logged_and_the_worker_goes_on(db, caplog):
    with FakePurge(failing=True) as fake:
        purger = Purger(db, {"CACHE_PURGE_URL": fake.url + "/purge{path}", **PURGE})
        published(db)
        with caplog.at_level(logging.WARNING, logger="alerts.worker"):
            assert purger.purge_changes(db)
    assert "Cache purge failed" in caplog.text and "(503)" in caplog.text
    nowhere = Purger(db, {"CACHE_PURGE_URL": "http://127.0.0.1:9/purge{path}", **PURGE})
    published(db, headline="Cảnh báo thứ hai")
    assert nowhere.purge_changes(db)  # refused connections: logged, not raised


def test_no_purge_url_means_no_purge(db):
    purger = Purger(db, {"CACHE_PURGE_URL": ""})
    published(db)
    assert purger.purge_changes(db) == []


def test_a_shared_page_that_takes_a_csrf_token_is_neither_kept_nor_shared(db_path):
    """The safety net under the templates: a cached view that puts a CSRF token (or
    anything of the session) in its body answers privately and is kept nowhere."""
    app = make_app(db_path)

    @app.route("/careless")
    @page_cache.cached()
    def careless():
        return make_response(render_template_string("{{ csrf_token() }}"))

    first, second = app.test_client().get("/careless"), app.test_client().get("/careless")
    assert first.headers["Cache-Control"] == "private, no-store"
    assert first.data != second.data and "ETag" not in second.headers
    assert not _kept(app, "/careless")


def _kept(app, path: str) -> bool:
    with app.app_context():
        return page_cache.cache().get((path, "vi")) is not None
