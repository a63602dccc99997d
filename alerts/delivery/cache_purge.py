"""The worker tells the reverse proxy or CDN that the public pages a change touched changed
(issue 17), when ``ALERTS_CACHE_PURGE_URL`` names where: one request per path, the path put
in place of ``{path}``, with ``ALERTS_CACHE_PURGE_METHOD``:

- ``GET`` (the default), for a refresh location: the one of ``config/nginx.conf.example``
  (stock nginx, no purge module) fetches the path from the app past its cache and stores
  the fresh copy under the public key, so the change shows on the next visit;
- ``PURGE``, for caches that drop a copy on it (Varnish, nginx's cache-purge module, a
  CDN's purge endpoint): the next visitor's request then goes to the app.

Without it, caches learn of a publication, update, cancel or expiry within their shared
lifetime (alerts/web/page_cache.py: 30 s). With it, within a worker tick. A purge is a
hint, not a duty: a failing one is logged and not retried, since the copy expires on its
own within that same bound. A 404 is no failure (a cache that held no copy, a page gone).

What a change touches: the front door, the pages and documents of every revision of the
warning, and the region pages and feeds of its target regions and every region above them
(each localized page also as ``?lang=``). Pages of regions below a target (the communes
of a province) are left to expire: a national warning would otherwise purge thousands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping

import httpx
import sqlite_utils

from alerts.i18n import LANG_ARG
from alerts.i18n import LANGUAGES
from alerts.store import portal_changes

log = logging.getLogger("alerts.worker")
TIMEOUT_SECONDS = 2.0


class Purger:
    """Purges what changed since it was made (or last ran), one call per worker tick."""

    def __init__(self, db: sqlite_utils.Database, config: Mapping) -> None:
        self.pattern = config.get("CACHE_PURGE_URL") or ""
        self.method = config.get("CACHE_PURGE_METHOD") or "GET"
        self.seen = portal_changes.version(db) if self.pattern else 0

    def purge_changes(self, db: sqlite_utils.Database) -> list[str]:
        """Send the purge (or refresh) of every path the new changes touched; return the paths."""
        if not self.pattern:
            return []
        changes = portal_changes.changed_since(db, self.seen)
        if not changes:
            return []
        self.seen = changes[-1][0]
        paths = sorted({p for code in {c for _s, c in changes if c} for p in touched(db, code)})
        failed = _send(self.method, self.pattern, paths)
        if failed:
            log.warning(
                "Cache purge failed for %s of %s paths: %s", len(failed), len(paths), failed
            )
        return paths


def touched(db: sqlite_utils.Database, code: str) -> list[str]:
    """Return the public paths whose bytes a change of the warning ``code`` may change."""
    pages, documents, regions = ["/"], [], set()
    for revision in portal_changes.series_codes(db, code):
        pages.append(f"/a/{revision}")
        documents += [f"/a/{revision}.cap", f"/a/{revision}.sig"]
        regions.update(portal_changes.region_codes(db, revision))  # an update may move
    for region in sorted(regions):
        pages.append(f"/r/{region}")
        documents.append(f"/feeds/{region}.atom")
    return [*_in_every_language(pages), *documents]


def _in_every_language(pages: Iterable[str]) -> list[str]:
    return [v for p in pages for v in (p, *(f"{p}?{LANG_ARG}={lang}" for lang in LANGUAGES))]


def _send(method: str, pattern: str, paths: list[str]) -> list[str]:
    """Send ``method`` for each path; return those the cache did not take."""
    failed = []
    with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
        for path in paths:
            try:
                answer = client.request(method, pattern.replace("{path}", path))
                if answer.status_code >= 400 and answer.status_code != 404:
                    failed.append(f"{path} ({answer.status_code})")
            except httpx.HTTPError as error:
                failed.append(f"{path} ({type(error).__name__})")
    return failed
