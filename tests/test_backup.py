"""Backup and restore (issue 13): an online backup taken while others write is whole and
verified, a restore refuses any file that is not a sound alerts database of this version,
and the worker's scheduled backups keep only their own newest few."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from alerts import audit
from alerts import config
from alerts.clock import now_text
from alerts.clock import utcnow
from alerts.db import open_db
from alerts.db import write
from alerts.delivery import worker
from alerts.store import audit as audit_store
from alerts.store import backup as backups
from alerts.store import lease as lease_store
from tests.test_worker_crash import start_worker
from tests.test_worker_crash import wait_for

T0 = datetime(2026, 12, 4, 2, 0, 0, tzinfo=UTC)


def add_subscribers(db, n: int, start: int = 0) -> None:
    """Insert ``n`` active SMS subscribers of Phường Hoàn Kiếm in one statement."""
    now = now_text()
    with write(db):
        db.execute(
            "WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1)"
            " INSERT INTO subscriptions (channel, address, region_code, status, test_audience,"
            " created_at, confirmed_at) SELECT 'sms', printf('+8490%07d', i), '00070',"
            " 'active', 0, ?, ? FROM s",
            [start, start + n, now, now],
        )


def count(db, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def backup_file(db, tmp_path):
    """A verified backup of this test's database."""
    path = tmp_path / "copy.sqlite"
    backups.backup(db, path, audit.SYSTEM)
    return path


def tampered(path, tmp_path, *statements):
    """A copy of a backup with SQL run on it (an insider with the file in hand)."""
    bad = tmp_path / "bad.sqlite"
    shutil.copy(path, bad)
    conn = sqlite3.connect(bad, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return bad


# --- backup ------------------------------------------------------------------------------


def test_a_backup_taken_while_a_writer_commits_is_whole_and_verified(db, db_path, tmp_path):
    add_subscribers(db, 150_000)  # about 30 MB: a copy of several hundred steps' worth
    stop, commits = threading.Event(), []

    def writer() -> None:
        conn = open_db(db_path)
        i = 1_000_000
        while not stop.is_set():
            began = time.perf_counter()
            with write(conn):
                audit_store.append(conn, audit.make_entry(audit.SYSTEM, "test.write"))
                add_subscribers(conn, 1, start=i)
            commits.append(time.perf_counter() - began)
            i += 1
            time.sleep(0.001)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(commits) < 5:
            time.sleep(0.01)
        before = len(commits)
        target = tmp_path / "during.sqlite"
        contents = backups.backup(db, target, audit.SYSTEM)
        during = len(commits) - before
        # One snapshot across the steps: without it SQLite restarts the copy from page 1
        # after every commit of the writer (thousands of steps, or never done).
        pages, steps = db.execute("PRAGMA page_count").fetchone()[0], []
        counted = sqlite3.connect(tmp_path / "steps.sqlite")
        backups.copy_database(db.conn, counted, lambda *args: steps.append(args))
        counted.close()
    finally:
        stop.set()
        thread.join()
    assert during > 0, "the writer was held up for the whole backup"
    assert max(commits) < 1.0
    assert len(steps) <= pages // backups.PAGES_PER_STEP + 2, (len(steps), pages)
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
    copy.close()
    copied = open_db(target)
    assert audit.verify(audit_store.iter_rows(copied)).ok
    assert 150_000 < count(copied, "subscriptions") < 150_000 + len(commits)
    copied.close()
    assert contents.counts["subscriptions"] > 150_000
    assert not list(tmp_path.glob(".*partial"))


def test_cli_backup_prints_a_summary_refuses_to_overwrite_and_is_audited(runner, db, tmp_path):
    target = tmp_path / "b.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backup written and verified: {target} (")
    assert "subscriptions 0" in result.output and "audit_log " in result.output
    assert result.output.count("\n") == 1 and " s)." in result.output
    entry = audit_store.recent(db, limit=1)[0]
    assert (entry["action"], entry["actor"]) == ("db.backup", "cli")
    assert str(target) in entry["detail"]

    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code == 1 and "already exists (--force replaces it)" in again.output
    forced = runner.invoke(args=["backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert audit_store.count_actions(db, "db.backup") == 2


def test_a_backup_that_fails_verification_leaves_no_file(runner, db, tmp_path):
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 2")
    target = tmp_path / "b.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert "audit chain is broken at entry 2" in result.output
    assert "Traceback" not in result.output
    assert not target.exists() and not list(tmp_path.glob(".*partial"))


def test_cli_backup_explains_a_missing_folder_and_the_live_file(runner, db_path, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "nowhere" / "b.sqlite")])
    assert result.exit_code == 1 and "is not a directory" in result.output
    result = runner.invoke(args=["backup", str(db_path), "--force"])
    assert result.exit_code == 1 and "is the live database itself" in result.output


# --- restore -----------------------------------------------------------------------------


def test_restore_brings_the_backup_back_and_keeps_what_it_replaced(runner, db, db_path, tmp_path):
    worker.acquire(db, "host:1:abc", 60)  # the backup is taken while a worker runs
    backup_file = tmp_path / "copy.sqlite"
    backups.backup(db, backup_file, audit.SYSTEM)
    worker.release(db, "host:1:abc")  # then stopped, to restore
    add_subscribers(db, 10)  # made after the backup: the restore takes it away
    db.close()
    result = runner.invoke(args=["restore", str(backup_file)])
    assert result.exit_code == 0, result.output
    assert f"Restored {db_path} from {backup_file} (" in result.output
    kept = next(db_path.parent.glob("alerts.db.before-restore-*"))
    assert f"kept as {kept}" in result.output
    live, old = open_db(db_path), open_db(kept)
    assert count(live, "subscriptions") == 0 and count(old, "subscriptions") == 10
    assert live.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert audit.verify(audit_store.iter_rows(live)).ok
    entry = audit_store.recent(live, limit=1)[0]
    assert (entry["action"], entry["actor"]) == ("db.restore", "cli")
    assert lease_store.get_lease(live) is None  # the next worker starts at once
    live.close()
    old.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: not an alerts database"),
        (b"name,phone\nNguyen Van A,0912345678\n" * 200, "is not a readable SQLite database"),
    ],
    ids=["empty", "csv"],
)
def test_restore_refuses_a_file_that_is_not_sqlite(runner, db, tmp_path, content, message):
    before = count(db, "audit_log")
    path = tmp_path / "not.sqlite"
    path.write_bytes(content)
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert count(db, "audit_log") == before
    assert not list(tmp_path.glob("alerts.db.before-restore-*"))


def test_restore_refuses_a_truncated_or_corrupted_backup(runner, db, tmp_path, backup_file):
    data = backup_file.read_bytes()
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(data[: len(data) // 2 + 100])
    conn = sqlite3.connect(backup_file)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'regions'").fetchone()[0]
    conn.close()
    corrupted = tmp_path / "corrupted.sqlite"
    start = (root - 1) * page  # the regions table's root page: flip its cell pointers
    flipped = bytes(b ^ 0xFF for b in data[start + 8 : start + 72])
    corrupted.write_bytes(data[: start + 8] + flipped + data[start + 72 :])
    for path, message in (
        (truncated, "is not a readable SQLite database (database disk image is malformed)"),
        (corrupted, "fails SQLite's integrity check: *** in database main ***; On tree page"),
    ):
        result = runner.invoke(args=["restore", str(path)])
        assert result.exit_code == 1 and message in result.output, result.output
        assert "Traceback" not in result.output
    assert not list(tmp_path.glob("alerts.db.before-restore-*"))


def test_restore_refuses_a_backup_whose_audit_log_was_edited(runner, tmp_path, backup_file):
    bad = tampered(
        backup_file,
        tmp_path,
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET detail = '{}' WHERE id = 3",
    )
    result = runner.invoke(args=["restore", str(bad)])
    assert result.exit_code == 1
    assert "the audit chain is broken at entry 3" in result.output


def test_restore_refuses_a_database_of_a_newer_version(runner, tmp_path, backup_file):
    future = tampered(
        backup_file,
        tmp_path,
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('alerts', 'm999_from_the_future', '2027-01-01')",
    )
    result = runner.invoke(args=["restore", str(future)])
    assert result.exit_code == 1
    assert "comes from a newer version of alerts" in result.output
    assert "m999_from_the_future" in result.output


def test_restore_refuses_a_sqlite_file_that_is_not_ours(runner, tmp_path):
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.close()
    result = runner.invoke(args=["restore", str(other)])
    assert result.exit_code == 1 and "is not an alerts database" in result.output
    missing = runner.invoke(args=["restore", str(tmp_path / "missing.sqlite")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_restore_refuses_while_a_worker_holds_a_fresh_lease(runner, db, backup_file):
    worker.acquire(db, "host:1:abc", 60)
    result = runner.invoke(args=["restore", str(backup_file)])
    assert result.exit_code == 1
    assert "A worker (host:1:abc) is running" in result.output and "--force" in result.output
    assert not list(backup_file.parent.glob("alerts.db.before-restore-*"))
    expired = utcnow() - timedelta(minutes=5)
    worker.acquire(db, "host:1:abc", 60, now=expired)  # a crashed worker's, run out
    assert runner.invoke(args=["restore", str(backup_file)]).exit_code == 0


def test_restore_force_goes_ahead_despite_the_lease(runner, db, backup_file):
    worker.acquire(db, "host:1:abc", 60)
    result = runner.invoke(args=["restore", str(backup_file), "--force"])
    assert result.exit_code == 0, result.output


def test_restore_onto_a_new_machine_creates_the_database(tmp_path, backup_file):
    database = tmp_path / "new" / "alerts.db"
    restored = backups.restore(backup_file, database, audit.SYSTEM, utcnow())
    assert restored.kept is None and restored.contents.counts["users"] > 0
    assert backups.verify_file(database).counts["users"] == restored.contents.counts["users"]


def test_restore_sets_an_unreadable_live_file_aside_only_with_force(tmp_path, backup_file):
    database = tmp_path / "broken.db"
    database.write_bytes(b"\x00garbage" * 4096)
    with pytest.raises(backups.BackupError, match="cannot be read"):
        backups.restore(backup_file, database, audit.SYSTEM, T0)
    assert database.read_bytes().startswith(b"\x00garbage")
    restored = backups.restore(backup_file, database, audit.SYSTEM, T0, force=True)
    assert restored.kept.read_bytes().startswith(b"\x00garbage")
    assert backups.verify_file(database).counts["users"] > 0


# --- scheduled backups -------------------------------------------------------------------


def schedule(db_path, directory, every=6, keep=3) -> dict:
    return {
        "DATABASE": str(db_path),
        "BUSY_TIMEOUT_MS": 5000,
        "BACKUP_DIR": str(directory),
        "BACKUP_EVERY_HOURS": every,
        "BACKUP_KEEP": keep,
    }


def test_scheduled_backups_come_on_time_and_only_the_newest_are_kept(db, db_path, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    unrelated = ["notes.txt", "alerts-manual.sqlite", "alerts-20200101-000000.sqlite.bak"]
    for name in unrelated:
        (folder / name).write_text("not ours")
    settings = schedule(db_path, folder)
    written = []
    for hours in range(0, 31):  # a tick every hour for 30 hours
        path = backups.maybe_backup(settings, T0 + timedelta(hours=hours))
        if path:
            written.append((hours, path.name))
    assert [h for h, _ in written] == [0, 6, 12, 18, 24, 30]
    assert written[0][1] == "alerts-20261204-020000.sqlite"
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([name for _, name in written[-3:]] + unrelated)
    for _, name in written[-3:]:
        assert backups.verify_file(folder / name).counts["users"] > 0
    assert audit_store.count_actions(db, "db.backup") == 6
    assert audit_store.recent(db, limit=1)[0]["actor"] == "system"


def test_retention_removes_a_stale_partial_of_its_own_and_nothing_else(db_path, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    stale = folder / ".alerts-20261203-020000.sqlite.4242.partial"
    fresh = folder / ".alerts-20261204-015900.sqlite.4243.partial"
    foreign = folder / ".other.sqlite.4242.partial"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"half")
    os.utime(stale, (T0.timestamp() - 86400, T0.timestamp() - 86400))
    os.utime(fresh, (T0.timestamp() - 60, T0.timestamp() - 60))
    backups.maybe_backup(schedule(db_path, folder), T0)
    assert not stale.exists() and fresh.exists() and foreign.exists()


def test_scheduled_backups_are_off_at_zero_and_by_default_outside_production(db_path, tmp_path):
    assert backups.maybe_backup(schedule(db_path, tmp_path / "b", every=0), T0) is None
    assert not (tmp_path / "b").exists()
    assert config.parse_settings({})["BACKUP_EVERY_HOURS"] == 0
    production = config.parse_settings({"ENV": "production", "SECRET_KEY": "x" * 40})
    assert production["BACKUP_EVERY_HOURS"] == 24 and production["BACKUP_KEEP"] == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [("BACKUP_EVERY_HOURS", "-1"), ("BACKUP_EVERY_HOURS", "daily"), ("BACKUP_KEEP", "0")],
)
def test_bad_backup_settings_stop_the_app_with_their_name(name, value):
    with pytest.raises(config.ConfigError, match=f"ALERTS_{name} must be"):
        config.parse_settings({name: value})


def test_a_failed_scheduled_backup_is_retried_later_not_every_tick(db_path, tmp_path):
    blocker = tmp_path / "backups"
    blocker.write_text("a file where the folder should be")
    settings = schedule(db_path, blocker)
    with pytest.raises(OSError):
        backups.maybe_backup(settings, T0)
    assert backups.maybe_backup(settings, T0 + timedelta(minutes=1)) is None
    blocker.unlink()
    assert backups.maybe_backup(settings, T0 + timedelta(minutes=2)) is None
    assert backups.maybe_backup(settings, T0 + timedelta(minutes=16)) is not None


def test_the_worker_starts_a_due_backup_on_its_own_thread(db, db_path, tmp_path):
    add_subscribers(db, 150_000)  # a copy and a check of a second or two
    settings = schedule(db_path, tmp_path / "backups")
    began = time.perf_counter()
    thread = backups.start_due_backup(settings, T0)
    returned_in = time.perf_counter() - began
    try:
        assert returned_in < 0.5 and thread.is_alive()  # the tick goes on meanwhile
        assert backups.start_due_backup(settings, T0 + timedelta(hours=7)) is None  # one runs
    finally:
        thread.join()
    assert (tmp_path / "backups" / "alerts-20261204-020000.sqlite").is_file()
    assert backups.start_due_backup(settings, T0 + timedelta(hours=1)) is None  # not due


def test_the_worker_writes_the_scheduled_backup(db, db_path, tmp_path):
    folder = tmp_path / "backups"
    with open(tmp_path / "worker.log", "wb") as log:
        process = start_worker(db_path, log, BACKUP_EVERY_HOURS="1", BACKUP_DIR=str(folder))
        try:
            wait_for(lambda: list(folder.glob("alerts-*.sqlite")))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
    (path,) = folder.glob("alerts-*.sqlite")
    assert backups.verify_file(path).counts["users"] > 0


def test_a_failing_scheduled_backup_never_stops_the_worker(db, db_path, tmp_path):
    folder = tmp_path / "backups"
    folder.write_text("a file where the folder should be")
    with open(tmp_path / "worker.log", "wb") as log:
        process = start_worker(db_path, log, BACKUP_EVERY_HOURS="1", BACKUP_DIR=str(folder))
        try:
            wait_for(lambda: b"Scheduled backup failed" in (tmp_path / "worker.log").read_bytes())
            first = lease_store.get_lease(db)["heartbeat_at"]
            wait_for(lambda: lease_store.get_lease(db)["heartbeat_at"] != first, timeout=10)
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
