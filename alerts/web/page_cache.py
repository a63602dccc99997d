"""Public pages and documents, cacheable and correct under caching (issue 17).

A public response is the same for every visitor of a language, so it may be kept by any
cache: the app's own (below), nginx's proxy cache, a CDN. How long, and how fast a change
shows through them:

- ``Cache-Control: public, max-age=10, s-maxage=20, stale-while-revalidate=10,
  stale-if-error=86400`` (``ALERTS_PORTAL_CACHE_SECONDS`` = 20 sets s-maxage, the other
  two are half of it). A shared cache keeps a copy fresh for 20 s and may hand it out 10 s
  longer while it fetches the next one, so a publication, an update, a cancel or an expiry
  shows through it within ``visible_within()`` = 30 s of its commit (stale-if-error lets
  it go on serving the last copy for a day only while the app answers errors or not at
  all). A browser counts its 10 s from the copy's ``Age``, inside the same 30 s.
- Strong ``ETag`` (SHA-256 of the body) and ``Last-Modified`` on every one, so caches and
  feed readers revalidate with a 304 and no body.
- In this process, rendered bodies are kept by route and language with the portal's version
  (``alerts/store/portal_changes.py``: bumped by a trigger in the very transaction that
  publishes, updates, cancels or expires), read once per request on the connection this
  server thread keeps (``alerts/db.py``: ``kept_reader``), so a hit opens no connection
  yet sees a change at once: a hot warning page is rendered once per change, not per
  request. An entry is also re-rendered after
  ``LOCAL_SECONDS``, for what the clock alone changes (a warning passing its expiry before
  the worker marks it, the list of the last days). Bounded to ``MAX_BYTES`` of bodies,
  least recently used first out; pages with a search query are not kept (each query is
  rendered, still cacheable by URL downstream).

The language of a localized page is in its URL (``?lang=en``; none is the default
language): the body depends on the URL alone. A visitor whose language cookie asks for
another language than the default is sent (302, ``private, no-store``) to the URL with it.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from urllib.parse import urlencode

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale

from alerts.db import kept_reader
from alerts.i18n import LANG_ARG
from alerts.i18n import LANG_COOKIE
from alerts.i18n import LANGUAGES
from alerts.store import portal_changes

STALE_IF_ERROR_SECONDS = 24 * 3600
LOCAL_SECONDS = 10
MAX_BYTES = 64 * 1024 * 1024
MAP_SECONDS = 3600  # the map of regions changes only with a release
PRIVATE = "private, no-store"
EXTENSION = "alerts.page_cache"


@dataclass(frozen=True)
class Rendered:
    """One rendered public response, as it is kept and served again."""

    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]
    etag: str
    last_modified: datetime
    version: int
    rendered_at: float

    def respond(self, cache_control: str) -> Response:
        """Return the response for this request: the body, or a 304 when the asker has it."""
        response = Response(self.body, content_type=self.content_type)
        response.headers.extend(self.headers)
        response.set_etag(self.etag)
        response.last_modified = self.last_modified
        response.headers["Cache-Control"] = cache_control
        return response.make_conditional(request)


def rendered(
    response: Response, version: int, previous: Rendered | tuple[str, datetime] | None
) -> Rendered:
    """Return what to keep of a view's response; ``Last-Modified`` stays the previous
    rendering's (an entry, or the validators of a page not kept) while the bytes are the
    same (a re-render after the clock is no change)."""
    body = response.get_data()
    etag = hashlib.sha256(body).hexdigest()[:32]
    if isinstance(previous, Rendered):
        previous = (previous.etag, previous.last_modified)
    if previous is not None and previous[0] == etag:
        modified = previous[1]
    else:
        modified = response.last_modified or datetime.now(UTC).replace(microsecond=0)
    kept = tuple((k, v) for k, v in response.headers.items() if k == "Access-Control-Allow-Origin")
    return Rendered(body, response.content_type, kept, etag, modified, version, time.monotonic())


class PageCache:
    """Rendered responses by key, least recently used out first past ``max_bytes``."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple, Rendered] = OrderedDict()
        self._lock = threading.Lock()
        self.validators = Validators()

    def get(self, key: tuple) -> Rendered | None:
        """Return the entry kept for ``key`` (current or not), marking it recently used."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Rendered) -> None:
        """Keep ``entry`` for ``key``, dropping the least recently used past the bound."""
        with self._lock:
            old = self._entries.pop(key, None)
            self.size -= len(old.body) if old else 0
            if len(entry.body) > self.max_bytes:
                return
            self._entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._entries)


class Validators:
    """The ETag and Last-Modified of the last rendering of pages that are not kept (a search
    query's), by URL, so a revalidation by date gets its 304 while the bytes stay the same.
    Only the validators, bounded by count: distinct queries cannot push hot pages out."""

    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, tuple[str, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[str, datetime] | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: tuple, entry: Rendered) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (entry.etag, entry.last_modified)
            if len(self._entries) > self.MAX_ENTRIES:
                self._entries.popitem(last=False)


def cache() -> PageCache:
    """Return this app's page cache (one per process)."""
    return current_app.extensions.setdefault(EXTENSION, PageCache())


def cache_control(shared_seconds: int) -> str:
    """Return the public ``Cache-Control`` for a shared lifetime (s-maxage) in seconds."""
    half = max(1, shared_seconds // 2)
    return (
        f"public, max-age={half}, s-maxage={shared_seconds}, stale-while-revalidate={half},"
        f" stale-if-error={STALE_IF_ERROR_SECONDS}"
    )


def visible_within(shared_seconds: int) -> int:
    """Return the bound on how long a shared cache shows a page older than a change."""
    return shared_seconds + max(1, shared_seconds // 2)


def cached(*, localized: bool = True, lifetime: int | None = None):
    """Serve a public view through the page cache, with the shared caching headers.

    ``localized`` views depend on the language (in the URL); documents do not. ``lifetime``
    is the shared one, by default ``PORTAL_CACHE_SECONDS``. Only 200s are kept and made
    public: a 404 or a 503 keeps the app's ``no-store``.
    """

    def decorate(view):
        @functools.wraps(view)
        def serve(**kwargs):
            if localized and (moved := _language_redirect()) is not None:
                return moved
            version = portal_changes.version(kept_reader())
            key = (request.path, str(get_locale()) if localized else "")
            keep = set(request.args) <= {LANG_ARG}
            entry = cache().get(key) if keep else None
            if not _current(entry, version):
                response = view(**kwargs)
                if response.status_code != 200 or personal(response):
                    return response  # the app's "private, no-store" stays
                if keep:
                    entry = rendered(response, version, entry)
                    cache().put(key, entry)
                else:
                    asked = (request.full_path, key[1])
                    entry = rendered(response, version, cache().validators.get(asked))
                    cache().validators.put(asked, entry)
            seconds = lifetime or current_app.config["PORTAL_CACHE_SECONDS"]
            return entry.respond(cache_control(seconds))

        serve.same_in_every_language = not localized
        return serve

    return decorate


def _current(entry: Rendered | None, version: int) -> bool:
    if entry is None or entry.version != version:
        return False
    return time.monotonic() - entry.rendered_at < LOCAL_SECONDS


def _language_redirect() -> Response | None:
    """Send a visitor whose cookie chose another language to this page's URL with it."""
    chosen = request.cookies.get(LANG_COOKIE)
    if LANG_ARG in request.args or chosen not in LANGUAGES:
        return None
    if chosen == current_app.config["DEFAULT_LOCALE"]:
        return None
    query = urlencode([*request.args.items(multi=True), (LANG_ARG, chosen)])
    response = redirect(f"{request.path}?{query}")
    response.headers["Cache-Control"] = PRIVATE
    return response


def personal(response: Response) -> bool:
    """Return whether a response holds something of this visitor's: a CSRF token, a change
    of the session (a flash shown, a sign-in), a cookie set."""
    return "csrf_token" in g or session.modified or "Set-Cookie" in response.headers


def is_shared(response: Response) -> bool:
    """Return whether a response says any cache may keep it."""
    return response.headers.get("Cache-Control", "").startswith("public")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus what would make a shared page per visitor.

    Flask marks the session read on every request (Flask-Login looks into it after each
    one) and then answers ``Vary: Cookie``, and a permanent session re-sends its cookie on
    every response: on a page every visitor shares, neither. A shared response that did
    change the session (which the portal never lets through) is made private instead.
    """

    def save_session(self, app: Flask, session, response: Response) -> None:
        if is_shared(response):
            if not session.modified:
                return
            response.headers["Cache-Control"] = PRIVATE
        super().save_session(app, session, response)
