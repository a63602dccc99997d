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

from alerts.errors import RETRY_AFTER_S
from alerts.errors import STORAGE_FAILING
from alerts.errors import storage_fault
from alerts.store import health as write_health
from alerts.store import warnings as store
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import draft
from tests.builders import ui_act
from tests.builders import ui_draft
from tests.builders import ui_form
from tests.conftest import make_app
from tests.conftest import post_form
from tests.conftest import sign_in
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


def test_a_draft_posted_on_a_full_disk_comes_back_with_the_message_and_saves_nothing(
    disk, app, client, db, caplog
):
    sign_in(client, "hoankiem.canbo")
    before = counts(db)
    disk.fill()
    form = ui_form(headline="Cảnh báo giả danh công an trên đĩa đầy")
    response = post_form(client, "/admin/warnings/new", form)  # the GET still works
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert vietnamese(app, STORAGE_FAILING) in page
    assert 'value="Cảnh báo giả danh công an trên đĩa đầy"' in page  # what was typed
    assert counts(db) == before
    assert len(refusals_logged(caplog)) == 1
    disk.free()
    assert post_form(client, "/admin/warnings/new", form).status_code == 302


def test_an_edit_posted_on_a_full_disk_comes_back_with_what_was_typed(disk, client, db):
    alert_id = ui_draft(client)
    stored = store.get_alert(db, alert_id).content.headline
    disk.fill()
    form = ui_form(headline="Tiêu đề sửa trên đĩa đầy")
    response = post_form(client, f"/admin/warnings/{alert_id}/edit", form)
    assert response.status_code == 503
    assert 'value="Tiêu đề sửa trên đĩa đầy"' in response.get_data(as_text=True)
    assert store.get_alert(db, alert_id).content.headline == stored


def test_an_action_on_a_full_disk_answers_the_503_page_and_changes_nothing(
    disk, app, client, db, caplog
):
    alert_id = ui_draft(client)
    before = counts(db)
    disk.fill()
    response = ui_act(client, alert_id, "submit")
    assert response.status_code == 503 and response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert vietnamese(app, STORAGE_FAILING) in response.get_data(as_text=True)
    assert store.get_alert(db, alert_id).status == Status.DRAFT and counts(db) == before
    assert len(refusals_logged(caplog)) == 1
    assert write_health.last_failure().error == "SQLITE_FULL"  # what /healthz reports since
    disk.free()
    assert ui_act(client, alert_id, "submit").status_code == 303
    assert write_health.last_failure() is None  # the next successful write forgets it


def test_a_refusal_on_a_full_disk_is_still_shown_though_its_audit_entry_cannot_be_written(
    disk, client, caplog
):
    sign_in(client, "hoankiem.canbo")
    disk.fill()
    assert client.get("/admin/warnings/queue").status_code == 403  # approvers only
    assert len(refusals_logged(caplog)) == 1


def test_an_api_write_on_a_full_disk_answers_problem_503_with_retry_after(
    disk, app, client, db, auth, caplog
):
    headers = auth("hoankiem.canbo")
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200  # token used
    disk.fill()
    response = client.post("/api/v1/alerts", json=draft(), headers=headers)
    assert response.status_code == 503 and response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 503 and response.json["detail"] == STORAGE_FAILING
    assert counts(db)[0] == 0 and len(refusals_logged(caplog)) == 1
    in_vietnamese = {**headers, "Accept-Language": "vi"}
    response = client.post("/api/v1/alerts", json=draft(), headers=in_vietnamese)
    assert response.json["detail"] == vietnamese(app, STORAGE_FAILING)
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200  # reads work
    disk.free()
    assert client.post("/api/v1/alerts", json=draft(), headers=headers).status_code == 201
    documented = client.get("/api/v1/openapi.json").json["paths"]["/alerts"]["post"]
    assert "Retry-After" in documented["responses"]["503"]["headers"]


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
