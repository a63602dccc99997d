"""A full disk, for real (a small tmpfs, ``tests.disk``): /healthz reports the failing write
(503) and is ok again once space is back; pages and the API answer 503 with what to do, never
a generic 500; a draft keeps what was typed; nothing is half-written.

UI text is checked in Vietnamese, the default language, through the catalogue: a message the
catalogue does not translate yet shows its English msgid, which the same lookup returns.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time

import pytest
from flask_babel import force_locale
from flask_babel import gettext
from markupsafe import escape

from alerts.errors import storage_fault
from alerts.store import health as write_health
from tests.builders import CONFIG
from tests.conftest import make_app
from tests.disk import small_disk

REFUSED = "Write refused by storage"


@pytest.fixture
def disk(template_db, tmp_path):
    """This test's database on its own 4 MB tmpfs (``fill()``, ``free()``)."""
    write_health.record_success()  # another test's refused write is not this one's
    with small_disk(tmp_path / "disk", template_db) as mounted:
        yield mounted


@pytest.fixture
def app(disk):
    """The app as in production: keys from the settings, none made next to the database."""
    keys = ("SIGNING_KEY", "DATA_KEY", "CAP_SIGNING_KEY", "CAP_SIGNING_CERT")
    return make_app(disk.path, **{name: CONFIG[name] for name in keys})


@pytest.fixture
def db(disk):
    return disk.db


def vietnamese(app, msgid: str) -> str:
    """Return a message as the Vietnamese pages show it (HTML-escaped)."""
    with app.test_request_context(), force_locale("vi"):
        return str(escape(gettext(msgid)))


def counts(db) -> tuple[int, int]:
    """Return how many warnings and audit entries there are."""
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("warnings", "audit_log")
    )


def refusals_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR and REFUSED in r.message]


def test_healthz_reports_the_failing_write_and_is_ok_once_space_is_back(disk, client, db):
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["writes"] == "ok" and body["write_error"] is None
    disk.fill()
    response = client.get("/healthz")
    body = response.json
    assert response.status_code == 503 and body["status"] == "writes failing"
    assert body["writes"] == "failing" and body["write_error"].startswith("ENOSPC")
    assert body["database"] == "ok" and body["writes_failing_since"]
    again = client.get("/healthz").json
    assert again["writes_failing_since"] == body["writes_failing_since"]  # since the first
    disk.free()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["writes"] == "ok"
    assert response.json["writes_failing_since"] is None
    # Nothing left behind: no probe file, one probe row however often it is polled.
    assert disk.files() == {"alerts.db", "alerts.db-wal", "alerts.db-shm"}
    assert db.execute("SELECT COUNT(*) FROM health_probe").fetchone()[0] == 1


def test_healthz_sees_a_full_disk_even_where_the_wal_still_has_room(disk, client, db):
    """A WAL is reused from its start: small writes still fit on a full disk, the next
    large one (or the checkpoint growing the file) does not. The probe asks for new space."""
    for version in range(3):
        db.execute(f"PRAGMA user_version = {version}")  # the WAL grows a few pages
    disk.fill(keep_wal_space=True)
    db.execute("PRAGMA user_version = 0")  # a small write still goes through
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["write_error"].startswith("ENOSPC")


def test_healthz_answers_busy_not_failing_while_another_writer_holds_the_lock(disk, client, db):
    """The probe waits briefly for the lock; a writer holding it is writing, not a fault."""
    db.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = client.get("/healthz")
        assert time.monotonic() - started < 2
    finally:
        db.execute("ROLLBACK")
    assert response.status_code == 200 and response.json["writes"] == "busy"
    assert response.json["write_error"].startswith("SQLITE_BUSY")


@pytest.mark.parametrize(
    ("code", "name", "fault"),
    [
        (sqlite3.SQLITE_FULL, "SQLITE_FULL", "SQLITE_FULL"),
        (778, "SQLITE_IOERR_WRITE", "SQLITE_IOERR_WRITE"),
        (sqlite3.SQLITE_BUSY, "SQLITE_BUSY", None),
        (sqlite3.SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT", None),
    ],
)
def test_storage_faults_are_told_from_other_database_errors(code, name, fault):
    error = sqlite3.OperationalError("words")
    error.sqlite_errorcode, error.sqlite_errorname = code, name
    assert storage_fault(error) == fault


def test_a_full_disk_outside_sqlite_is_a_storage_fault_too():
    assert storage_fault(OSError(errno.ENOSPC, "No space left on device")) == "ENOSPC"
    assert storage_fault(OSError(errno.ENOENT, "No such file")) is None
    assert storage_fault(sqlite3.OperationalError("database or disk is full")) == "SQLITE_FULL"
