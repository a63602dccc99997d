"""GET /healthz: database reachable, schema version, journal mode, map version, the
delivery worker's last heartbeat (null when no worker runs), the revisions whose stored
content failed its integrity check (``alerts.warnings.integrity``), and whether the database
takes a write (``alerts.store.health``: a full disk fails writes only, so reads prove nothing).

Writes failing answer 503 with the reason and since when this process saw them fail; the
next call after space came back is ok again. "busy" (another writer held the lock for the
whole probe) is not a fault: that writer is writing.

An integrity failure reports status "integrity failure" with 200, not 503: the portal and
the cancel button must stay reachable while a security officer looks at it."""

from __future__ import annotations

import sqlite3

from flask import Blueprint
from flask import current_app
from flask import jsonify

from alerts import __version__
from alerts import migrations
from alerts.clock import now_text
from alerts.db import get_db
from alerts.regions import MAP_VERSION_KEY
from alerts.store import health as write_health
from alerts.store import regions as region_store
from alerts.store.lease import get_lease
from alerts.store.lease import journal_mode
from alerts.warnings import integrity
from alerts.web.guards import public

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """Report health as JSON: 200 when ready, 503 when the database is not."""
    try:
        db = get_db()
        pending = migrations.pending(db)
        failures = [] if pending else integrity.failures(db)
        writes = _writes(db, pending)
        body = {
            "status": _status(pending, writes, failures),
            "version": __version__,
            "database": "ok",
            "schema_version": migrations.schema_version(db),
            "pending_migrations": pending,
            "journal_mode": journal_mode(db),
            "map_version": None if pending else region_store.get_meta(db, MAP_VERSION_KEY),
            "worker": None if pending else get_lease(db),
            "integrity_failures": failures,
            **writes,
        }
    except sqlite3.Error as exc:
        return jsonify(status="error", database=f"unavailable: {exc.__class__.__name__}"), 503
    ready = not pending and body["writes"] != "failing"
    return jsonify(body), 200 if ready else 503


def _writes(db, pending: list[str]) -> dict:
    """Probe a write (the probe's table exists once migrations ran) and report the outcome."""
    now = now_text()
    reason = write_health.probe(db, current_app.config["DATABASE"], now, row=not pending)
    if reason is None:
        write_health.record_success()
        return {"writes": "ok", "write_error": None, "writes_failing_since": None}
    if reason.startswith("SQLITE_BUSY"):
        return {"writes": "busy", "write_error": reason, "writes_failing_since": None}
    write_health.record_failure(reason, now)
    failure = write_health.last_failure()
    since = failure.since if failure else now
    return {"writes": "failing", "write_error": reason, "writes_failing_since": since}


def _status(pending: list[str], writes: dict, failures: list[int]) -> str:
    if pending:
        return "migrations pending"
    if writes["writes"] == "failing":
        return "writes failing"
    return "integrity failure" if failures else "ok"
