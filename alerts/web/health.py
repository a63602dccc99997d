"""GET /healthz: database reachable, schema version, journal mode, map version, the
delivery worker's last heartbeat (null when no worker runs), and the revisions whose stored
content failed its integrity check (``alerts.warnings.integrity``).

An integrity failure reports status "integrity failure" with 200, not 503: the portal and
the cancel button must stay reachable while a security officer looks at it."""

from __future__ import annotations

import sqlite3

from flask import Blueprint
from flask import jsonify

from alerts import __version__
from alerts import migrations
from alerts.db import get_db
from alerts.regions import MAP_VERSION_KEY
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
        body = {
            "status": _status(pending, failures),
            "version": __version__,
            "database": "ok",
            "schema_version": migrations.schema_version(db),
            "pending_migrations": pending,
            "journal_mode": journal_mode(db),
            "map_version": None if pending else region_store.get_meta(db, MAP_VERSION_KEY),
            "worker": None if pending else get_lease(db),
            "integrity_failures": failures,
        }
    except sqlite3.Error as exc:
        return jsonify(status="error", database=f"unavailable: {exc.__class__.__name__}"), 503
    return jsonify(body), 200 if not pending else 503


def _status(pending: list[str], failures: list[int]) -> str:
    if pending:
        return "migrations pending"
    return "integrity failure" if failures else "ok"
