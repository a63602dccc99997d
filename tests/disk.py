"""A real full disk: a small tmpfs mounted under the test's directory, holding a copy of the
test database, which ``fill()`` fills to the last byte and ``free()`` empties again.

Nothing is faked: SQLite itself answers "database or disk is full" (SQLITE_FULL), as it would
on a production server whose disk ran out. Mounting needs root, as CI and this machine run;
elsewhere the tests that use it are skipped with the reason.

Use it from a fixture, with the session's migrated and seeded template database::

    @pytest.fixture
    def disk(template_db, tmp_path):
        with small_disk(tmp_path / "disk", template_db) as mounted:
            yield mounted
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils

from alerts.db import open_db

# Room for the 1 MB test database and what a test writes; small, so filling it is quick.
SIZE = "4m"
# Filler chunks, largest first: the last one-byte writes take the final partial page.
_CHUNKS = (1 << 20, 1 << 16, 1 << 12, 1)


class SmallDisk:
    """A mounted tmpfs with the test database (``path``) and a connection to it (``db``).

    The connection stays open for the whole test: while one is open SQLite keeps the -wal
    and -shm files, as on a server where the worker always holds one, so a new connection
    needs no new space to open.
    """

    def __init__(self, root: Path, db: sqlite_utils.Database):
        self.root = root
        self.path = root / "alerts.db"
        self.db = db
        self.filler = root / "filler"

    def fill(self, keep_wal_space: bool = False) -> None:
        """Take every free byte, so that the next write needing space fails.

        The WAL is emptied first: a WAL keeps its size after a checkpoint and is rewritten
        from its start, so a small write could still fit in space it already holds.
        ``keep_wal_space`` leaves it that way on purpose (a server's usual state): small
        writes then still succeed on the full disk, as they do in production.
        """
        mode = "RESTART" if keep_wal_space else "TRUNCATE"
        for _ in range(50):  # a running worker may commit between the checkpoint and the check
            busy, _log, _done = self.db.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            assert busy == 0, "a connection still reads: the WAL cannot be checkpointed"
            wal_size = (self.root / "alerts.db-wal").stat().st_size
            if (wal_size > 0) if keep_wal_space else (wal_size == 0):
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"the WAL could not be brought to the wanted size: {wal_size}")
        with self.filler.open("ab", buffering=0) as filler:
            for size in _CHUNKS:
                _write_until_full(filler, bytes(size))
        assert shutil.disk_usage(self.root).free == 0
        if not keep_wal_space:
            self._assert_writes_fail()

    def free(self) -> None:
        """Give the space back: the next write succeeds."""
        self.filler.unlink()

    def files(self) -> set[str]:
        """Return the names of the files on the disk (to check nothing was left behind)."""
        return {p.name for p in self.root.iterdir()}

    def _assert_writes_fail(self) -> None:
        """Check that a write really fails now (rewriting user_version dirties page 1)."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            self.db.execute(f"PRAGMA user_version = {int(version)}")


def _write_until_full(file, chunk: bytes) -> None:
    try:
        while True:
            file.write(chunk)
    except OSError as error:
        assert error.errno == errno.ENOSPC, error


@contextmanager
def small_disk(mount_point: Path, template_db: Path, size: str = SIZE) -> Iterator[SmallDisk]:
    """Mount a ``size`` tmpfs at ``mount_point`` with a copy of ``template_db``; always unmount.

    Skips the test when it cannot mount (not root, or no tmpfs in this container).
    """
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs root to mount a small tmpfs (CI runs as root)")
    mount_point.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a real full disk: {mounted.stderr.strip()}")
    try:
        shutil.copy(template_db, mount_point / "alerts.db")
        db = open_db(mount_point / "alerts.db")
        try:
            yield SmallDisk(mount_point, db)
        finally:
            db.close()
    finally:
        _unmount(mount_point)


def _unmount(mount_point: Path) -> None:
    """Unmount, lazily if a file is still open (a leaked connection must not leave it)."""
    if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)
