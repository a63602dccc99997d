"""Storage: migrations, pragmas, atomic writes and two processes sharing one file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from alerts import migrations
from alerts.db import open_db
from alerts.db import write


def test_init_db_twice_is_idempotent(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path / "fresh.db")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert "m005_signatures, m006_delivery, m007_subscription_notices" in first.output
    assert "3356 units" in first.output
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0
    assert "none (up to date)" in second.output
    assert "already up to date" in second.output


def test_pragmas(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_write_rolls_back_everything_on_error(db):
    before = db.execute("SELECT count(*) FROM meta").fetchone()[0]
    with pytest.raises(RuntimeError), write(db):
        db.execute("INSERT INTO meta VALUES ('a', '1')")
        with write(db):
            db.execute("INSERT INTO meta VALUES ('b', '2')")
        raise RuntimeError("boom")
    assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == before


def test_foreign_keys_are_enforced(db):
    with pytest.raises(Exception, match="FOREIGN KEY"), write(db):
        db.execute(
            "INSERT INTO units (code, name, name_folded, level, region_code) "
            "VALUES ('x', 'x', 'x', 'commune', 'nope')"
        )


def test_app_refuses_requests_until_migrated(tmp_path):
    from tests.conftest import make_app

    app = make_app(tmp_path / "empty.db")
    client = app.test_client()
    page = client.get("/auth/login")
    assert page.status_code == 503 and "init-db" in page.get_data(as_text=True)
    api = client.get("/api/v1/alerts", headers={"Authorization": "Bearer x"})
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert "init-db" in api.json["detail"]
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["pending_migrations"] == migrations.pending(open_db(tmp_path / "empty.db"))
    app.test_cli_runner().invoke(args=["init-db"])
    assert client.get("/auth/login").status_code == 200


WRITER = textwrap.dedent(
    """
    import sys
    from alerts.db import open_db, write
    db = open_db(sys.argv[1])
    for i in range(200):
        with write(db):
            n = db.execute("SELECT count(*) FROM meta").fetchone()[0]
            db.execute("INSERT INTO meta VALUES (?, ?)", [f"{sys.argv[2]}-{i}", str(n)])
    """
)


def test_two_processes_write_without_locking_errors(db_path):
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), name], stderr=subprocess.PIPE)
        for name in ("web", "worker")
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    db = open_db(db_path)
    assert (
        db.execute(
            "SELECT count(*) FROM meta WHERE key LIKE 'web-%' OR key LIKE 'worker-%'"
        ).fetchone()[0]
        == 400
    )


def test_an_sqlite_too_old_for_the_outbox_is_refused_with_a_clear_error(tmp_path, monkeypatch):
    from alerts import db as db_module

    monkeypatch.setattr(db_module.sqlite3, "sqlite_version_info", (3, 37, 2))
    monkeypatch.setattr(db_module.sqlite3, "sqlite_version", "3.37.2")
    with pytest.raises(db_module.SQLiteTooOld, match=r"SQLite 3\.37\.2 is too old: .*3\.38\.0\+"):
        open_db(tmp_path / "old.db")
    assert not (tmp_path / "old.db").exists()


def test_the_kept_reader_sees_each_commit_at_once_and_holds_no_snapshot(app, db):
    """The connection a thread keeps for the portal's version (issue 17) reads like a new
    one: another connection's commit shows on the next read, and between reads it holds
    no read transaction (a checkpoint can empty the WAL behind it)."""
    from alerts.db import kept_reader
    from alerts.store import portal_changes
    from tests.builders import published

    with app.app_context():
        kept = kept_reader()
        before = portal_changes.version(kept)
        published(db)
        assert portal_changes.version(kept) > before
        assert kept_reader() is kept  # the same connection, not a new one per request
        busy, _log, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0 and not kept.conn.in_transaction
