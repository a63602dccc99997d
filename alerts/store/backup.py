"""Backups of the live database, their verification, restore, and the worker's schedule.

A backup is SQLite's online backup API (https://www.sqlite.org/backup.html) run from a
connection of our own, so the web app and the worker keep reading and writing meanwhile.
A copy counts only once it is verified: ``PRAGMA integrity_check`` answers ok, the audit
log's hash chain checks out (alerts/audit.py ``verify``) and the file is an alerts database
no newer than this code. It is written under a temporary name and renamed into place only
then, so a file with the asked-for name is always a whole, verified backup.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import sqlite_utils

from alerts import audit
from alerts import migrations
from alerts.clock import from_text
from alerts.db import open_db
from alerts.db import write
from alerts.store import audit as audit_store
from alerts.store import lease as lease_store

# Pages copied per backup step (4 MiB at SQLite's default page size); see copy_database.
PAGES_PER_STEP = 1024
# The tables a summary counts: what a reader wants to see survived.
COUNTED = ("subscriptions", "warnings", "deliveries", "users", "audit_log")
# The scheduled backups' names; retention deletes only files matching these.
SCHEDULED = re.compile(r"alerts-(\d{8}-\d{6})\.sqlite")
SCHEDULED_PARTIAL = re.compile(r"\.alerts-\d{8}-\d{6}\.sqlite\.\d+\.partial")
STAMP = "%Y%m%d-%H%M%S"
# A partial file left by a process killed mid-backup is removed once this old.
STALE_PARTIAL = timedelta(hours=1)
# After a failed scheduled backup (a full disk, say) the next try waits this long, so a
# worker ticking every 2 s does not copy the database, fail and log 1,800 times an hour.
RETRY_AFTER = timedelta(minutes=15)
_failed_at: dict[Path, datetime] = {}
_running: threading.Thread | None = None
log = logging.getLogger("alerts.backup")


class BackupError(Exception):
    """A file is not a usable backup, or a backup or restore was refused; says why."""


@dataclass(frozen=True)
class Contents:
    """What a verified database file holds."""

    path: Path
    size: int
    counts: dict[str, int]
    schema: int  # migrations applied
    pending: int  # migrations this code has and the file has not yet

    def describe(self) -> str:
        """Return the sizes and counts for a one-line summary."""
        counts = ", ".join(f"{name} {n:,}" for name, n in self.counts.items())
        return f"{self.size / 1e6:.1f} MB, schema {self.schema}, {counts}"


@dataclass(frozen=True)
class Restored:
    """A finished restore: what is live now and where the replaced database was kept."""

    contents: Contents
    kept: Path | None


def copy_database(source: sqlite3.Connection, target: sqlite3.Connection, progress=None) -> None:
    """Copy ``source`` into ``target`` with the backup API, PAGES_PER_STEP pages a step
    (``progress(status, remaining, total)`` is called after each, as sqlite3 documents).

    Writers go on meanwhile because the database is in WAL mode (db.py): a reader never
    blocks a writer, so the worker and the web app keep committing while the copy reads, and
    the backup never takes the write lock of the live file. The steps (1024 pages, 4 MiB;
    ``sleep=0``: a busy step is retried at once) keep each call into SQLite short and
    report progress (the tests and scripts/backup_bench.py count them); by themselves they
    let no writer in. They have a trap: SQLite restarts a step-wise backup from page 1
    whenever another connection writes the source between two steps
    (https://www.sqlite.org/c3ref/backup_finish.html, "sqlite3_backup_step()"); measured
    here with a writer committing every millisecond, a 33 MB copy took 21 s and 2,591 steps
    instead of 8. So one read transaction is held across the steps: every step reads the
    same snapshot, the copy is consistent as of its start and never restarts, and commits
    made meanwhile go to the WAL (the bench measures the writers' latency during a backup).
    """
    source.execute("BEGIN")
    try:
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot
        source.backup(target, pages=PAGES_PER_STEP, progress=progress, sleep=0)
    finally:
        source.execute("COMMIT")


def verify_file(path: Path) -> Contents:
    """Check that ``path`` is a sound alerts database; raise BackupError saying why not."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file.")
    size = path.stat().st_size
    if size == 0:
        raise BackupError(f"{path} is empty: not an alerts database.")
    # Opened read-write so SQLite removes the -wal/-shm it needs for a WAL-mode file when it
    # closes (read-only, it leaves them behind); nothing here writes to the file.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return _contents(sqlite_utils.Database(conn), path, size)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database ({error}).") from None
    finally:
        conn.close()


def _contents(db: sqlite_utils.Database, path: Path, size: int) -> Contents:
    problems = [row[0] for row in db.execute("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        found = "; ".join(problem.replace("\n", "; ") for problem in problems)
        raise BackupError(f"{path} fails SQLite's integrity check: {found}.")
    if not db["_sqlite_migrations"].exists() or not db["audit_log"].exists():
        raise BackupError(f"{path} is not an alerts database (it has no schema migrations).")
    applied = [m.name for m in migrations.migrations.applied(db)]
    known = migrations.pending(sqlite_utils.Database(memory=True))  # all, to an empty db
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise BackupError(
            f"{path} comes from a newer version of alerts (migrations this code does not"
            f" know: {', '.join(unknown)}); restore it with that version."
        )
    _check_chain(db, path)
    counts = {
        name: db.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0]
        for name in COUNTED
        if db[name].exists()
    }
    return Contents(path, size, counts, len(applied), len(known) - len(applied))


def _check_chain(db: sqlite_utils.Database, path: Path) -> None:
    """Raise BackupError unless the audit chain is whole (as `audit-verify` checks it)."""
    verdict = audit.verify(audit_store.iter_rows(db))
    last_issued = audit_store.last_issued_id(db)
    if verdict.ok and last_issued > verdict.count:
        verdict = audit.Verdict(verdict.count, last_issued, "entries missing at the end")
    if not verdict.ok:
        raise BackupError(
            f"{path}: the audit chain is broken at entry {verdict.broken_id} ({verdict.reason})."
        )


def backup(
    db: sqlite_utils.Database, target: Path, actor: audit.Actor, *, force: bool = False
) -> Contents:
    """Write a verified copy of the live database ``db`` to ``target`` and audit it.

    The copy is made under a temporary name beside ``target`` and renamed into place only
    once verified; without ``force`` an existing ``target`` is never replaced.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory.")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists (--force replaces it).")
    if _is_live(db, target):
        raise BackupError(f"{target} is the live database itself.")
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    began = time.perf_counter()
    try:
        _write_copy(db.conn, partial)
        contents = verify_file(partial)
        _move_into_place(partial, target, force)
    finally:
        partial.unlink(missing_ok=True)
    contents = replace(contents, path=target)
    detail = {"file": str(target), "bytes": contents.size, **contents.counts}
    detail["seconds"] = round(time.perf_counter() - began, 2)
    with write(db):
        audit_store.append(db, audit.make_entry(actor, "db.backup", None, detail))
    return contents


def _is_live(db: sqlite_utils.Database, target: Path) -> bool:
    live = Path(db.execute("PRAGMA database_list").fetchone()[2] or "")
    names = {live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm")}
    return target.resolve() in {p.resolve() for p in names if str(p)}


def _write_copy(source: sqlite3.Connection, path: Path) -> None:
    """Copy into a new file at ``path``, then make it a single self-contained file."""
    path.unlink(missing_ok=True)
    target = sqlite3.connect(path, isolation_level=None)
    try:
        copy_database(source, target)
        # The copy inherits WAL mode from the live file's header; a backup is one file.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()


def _move_into_place(partial: Path, target: Path, force: bool) -> None:
    if force:
        os.replace(partial, target)
        return
    try:
        os.link(partial, target)  # atomic, and refuses a target that appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{target} already exists (--force replaces it).") from None


def restore(
    source: Path, database: Path, actor: audit.Actor, now: datetime, *, force: bool = False
) -> Restored:
    """Replace the database at ``database`` with the verified backup ``source``.

    Refused while a worker holds a fresh lease (unless ``force``). The database replaced is
    first copied, whole, to ``<database>.before-restore-<UTC time>``. The backup is written
    with the backup API through a connection to the live file, so SQLite's own WAL handling
    applies and no stale -wal or -shm can be replayed over the restored pages (a file copy
    over a WAL database could be). The pages are copied as they are, so the source's
    verification stands for the result (checking again would double a restore's time: 10 s
    of integrity_check for 1M subscribers). A live file SQLite cannot read is set aside
    under the same name, its -wal and -shm with it, only with ``force``.
    """
    source, database = Path(source), Path(database)
    if database.exists() and source.resolve() == database.resolve():
        raise BackupError(f"{source} is the live database itself.")
    contents = replace(verify_file(source), path=database)
    kept = database.with_name(f"{database.name}.before-restore-{now.strftime(STAMP)}")
    if kept.exists():
        raise BackupError(f"{kept} already exists; try again in a second.")
    if database.exists():
        _keep_replaced(database, kept, now, force)
    else:
        kept = None
    live = open_db(database)
    try:
        _write_over(source, live, kept)
        if live["worker_lease"].exists():
            with write(live):
                # The lease of the worker that ran when the backup was taken: nobody holds it.
                live.execute("DELETE FROM worker_lease")
        detail = {"from": str(source), "kept": str(kept) if kept else None, **contents.counts}
        with write(live):
            audit_store.append(live, audit.make_entry(actor, "db.restore", None, detail))
    finally:
        live.close()
    return Restored(contents, kept)


def _write_over(source: Path, live: sqlite_utils.Database, kept: Path | None) -> None:
    """Copy ``source`` over the live database in one step (one write transaction: on an
    error SQLite rolls the live file back as it was)."""
    incoming = sqlite3.connect(source, isolation_level=None)
    try:
        incoming.backup(live.conn, pages=-1)
    except sqlite3.Error as error:
        where = f"; the database replaced is also kept at {kept}" if kept else ""
        raise BackupError(f"Restore failed ({error}): nothing was changed{where}.") from None
    finally:
        incoming.close()
    live.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _keep_replaced(database: Path, kept: Path, now: datetime, force: bool) -> None:
    """Copy the live database to ``kept``, refusing while a worker holds a fresh lease."""
    try:
        live = open_db(database)
        try:
            _refuse_while_a_worker_runs(live, now, force)
            _write_copy(live.conn, kept)
        finally:
            live.close()
    except sqlite3.DatabaseError as error:
        kept.unlink(missing_ok=True)
        if not force:
            raise BackupError(
                f"The database {database} cannot be read ({error}). Stop the web app and the"
                " worker, then restore with --force to set it aside and restore."
            ) from None
        for suffix in ("", "-wal", "-shm"):
            old = database.with_name(database.name + suffix)
            if old.exists():
                old.rename(kept.with_name(kept.name + suffix))


def _refuse_while_a_worker_runs(live: sqlite_utils.Database, now: datetime, force: bool) -> None:
    if force or not live["worker_lease"].exists():
        return
    held = lease_store.get_lease(live)
    if held and from_text(held["expires_at"]) > now:
        raise BackupError(
            f"A worker ({held['holder']}) is running: last heartbeat {held['heartbeat_at']}"
            " UTC. Stop it first (or restore with --force)."
        )


def backup_dir(config: Mapping) -> Path:
    """Return where scheduled backups go: ALERTS_BACKUP_DIR, else backups/ beside the db."""
    if config["BACKUP_DIR"]:
        return Path(config["BACKUP_DIR"])
    return Path(config["DATABASE"]).resolve().parent / "backups"


def start_due_backup(config: Mapping, now: datetime) -> threading.Thread | None:
    """Start ``maybe_backup`` on a thread of its own if a backup is due and none runs yet;
    return the thread (None when nothing was started). Its failure is logged there.

    The worker calls this after every tick. On a thread because a backup of 1M subscribers
    takes 10 s or more, nearly all of it integrity_check reading the copy (see README,
    "Backup and restore"): in the tick it would hold every new warning, cancel and retry
    back that long. The thread is not a daemon, so a stopping worker finishes the backup.
    """
    global _running
    if (_running and _running.is_alive()) or not _due(config, now):
        return None
    _running = threading.Thread(
        target=_backup_logged, args=(config, now), name="alerts-backup", daemon=False
    )
    _running.start()
    return _running


def _backup_logged(config: Mapping, now: datetime) -> None:
    began = time.perf_counter()
    try:
        path = maybe_backup(config, now)
    except Exception:
        log.exception("Scheduled backup failed; it is tried again later.")
        return
    if path:
        log.info("Scheduled backup written: %s (%.1f s).", path, time.perf_counter() - began)


def _due(config: Mapping, now: datetime) -> bool:
    """Return whether a scheduled backup is due (a listing of the folder, no database)."""
    every = config["BACKUP_EVERY_HOURS"]
    if not every:
        return False
    directory = backup_dir(config)
    failed = _failed_at.get(directory)
    if failed and now - failed < RETRY_AFTER:
        return False
    newest = max((stamp for stamp, _ in _scheduled(directory)), default=None)
    return not newest or abs(now - newest) >= timedelta(hours=every)


def maybe_backup(config: Mapping, now: datetime) -> Path | None:
    """Write the scheduled backup if one is due, here and now; return its path, else None.

    Due when the newest ``alerts-<UTC time>.sqlite`` in the backup folder is
    ALERTS_BACKUP_EVERY_HOURS old (at once when there is none); retention then keeps the
    newest ALERTS_BACKUP_KEEP of them. The copy runs on a connection of its own: the
    worker's own is in use by its dispatcher's threads. After a failure, the next try
    waits RETRY_AFTER.
    """
    if not _due(config, now):
        return None
    directory = backup_dir(config)
    target = directory / f"alerts-{now.astimezone(UTC).strftime(STAMP)}.sqlite"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        db = open_db(config["DATABASE"], config["BUSY_TIMEOUT_MS"])
        try:
            backup(db, target, audit.SYSTEM)
        finally:
            db.close()
    except BaseException:
        _failed_at[directory] = now
        raise
    _failed_at.pop(directory, None)
    prune(directory, config["BACKUP_KEEP"], now)
    return target


def _scheduled(directory: Path) -> list[tuple[datetime, Path]]:
    """Return the scheduled backups in ``directory`` with their times, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for entry in os.scandir(directory):
        match = SCHEDULED.fullmatch(entry.name)
        if match and entry.is_file():
            stamp = datetime.strptime(match.group(1), STAMP).replace(tzinfo=UTC)
            found.append((stamp, Path(entry.path)))
    return sorted(found)


def prune(directory: Path, keep: int, now: datetime) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups, and partial files of ours
    that a killed process left; never any other file. Return what was deleted."""
    doomed = [path for _, path in _scheduled(directory)[:-keep]]
    for entry in os.scandir(directory):
        if SCHEDULED_PARTIAL.fullmatch(entry.name):
            modified = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
            if now - modified > STALE_PARTIAL:
                doomed.append(Path(entry.path))
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
