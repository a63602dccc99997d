"""How long a backup and a restore take for a database with 1,000,000 subscribers (issue 13).

Run from the checkout: ``python scripts/backup_bench.py [N]`` (default N = 1,000,000), in the
project's venv. Everything happens in a temporary directory: a real migrated SQLite file
with the map, the units and the demo users (as tests/conftest.py builds it), N active SMS
subscribers spread over Hà Nội's communes, then ``alerts.store.backup``'s own backup,
verification and restore, timed. Figures are printed as ``name=value`` when measured; the
last line holds them all. The README ("Backup and restore") says what they were here.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench import FIGURES  # noqa: E402  (the figures' format is the benchmark's)
from bench import note  # noqa: E402
from bench import province_subscribers  # noqa: E402
from bench import report  # noqa: E402


def build(path: Path, n: int) -> None:
    """Migrate, load the map, units and demo users, then N subscribers in one statement."""
    from alerts import migrations
    from alerts import seed
    from alerts.db import open_db

    db = open_db(path)
    migrations.apply(db)
    seed.load_reference_data(db)
    seed.seed_demo_users(db)
    began = time.perf_counter()
    communes = province_subscribers(db, n)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    seconds = time.perf_counter() - began
    note(f"{n} subscribers over {communes} communes inserted in {seconds:.1f} s")


def writer(path: Path, stop: threading.Event, latencies: list[float]) -> None:
    """Commit one audit entry every 10 ms, as a busy worker records its sends."""
    from alerts import audit
    from alerts.db import open_db
    from alerts.db import write
    from alerts.store import audit as audit_store

    db = open_db(path)
    while not stop.is_set():
        began = time.perf_counter()
        with write(db):
            audit_store.append(db, audit.make_entry(audit.SYSTEM, "bench.write"))
        latencies.append(time.perf_counter() - began)
        time.sleep(0.01)
    db.close()


@contextmanager
def writing(path: Path):
    """Run ``writer`` on a thread for the block; yield its commit latencies (seconds)."""
    stop, latencies = threading.Event(), []
    thread = threading.Thread(target=writer, args=(path, stop, latencies))
    thread.start()
    try:
        yield latencies
    finally:
        stop.set()
        thread.join()


def report_latencies(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    report(f"p99_{name}_ms", ordered[int(len(ordered) * 0.99)] * 1000)
    report(f"slowest_{name}_ms", ordered[-1] * 1000)


def measure(tmp: Path, n: int) -> None:
    from alerts import audit
    from alerts.clock import utcnow
    from alerts.db import open_db
    from alerts.store import backup as backups

    live = tmp / "alerts.db"
    build(live, n)
    report("db_mb", live.stat().st_size / 1e6)

    db = open_db(live)
    began = time.perf_counter()
    bare = sqlite3.connect(tmp / "bare.sqlite")
    backups.copy_database(db.conn, bare)
    report("copy_s", time.perf_counter() - began)  # the backup API's copy alone
    bare.close()
    (tmp / "bare.sqlite").unlink()
    began = time.perf_counter()
    contents = backups.backup(db, tmp / "quiet.sqlite", audit.SYSTEM)
    report("backup_s", time.perf_counter() - began)
    report("backup_mb", contents.size / 1e6)
    began = time.perf_counter()
    backups.verify_file(tmp / "quiet.sqlite")
    report("verify_s", time.perf_counter() - began)

    began = time.perf_counter()
    with writing(live) as latencies:
        backups.backup(db, tmp / "busy.sqlite", audit.SYSTEM)
        seconds = time.perf_counter() - began
    report("backup_under_writes_s", seconds)
    report("writes_during_backup", len(latencies))
    report_latencies("write", latencies)
    with writing(live) as latencies:  # the same writer as long again, with no backup
        time.sleep(seconds)
    report_latencies("baseline_write", latencies)
    db.close()

    began = time.perf_counter()
    restored = backups.restore(tmp / "quiet.sqlite", live, audit.SYSTEM, utcnow())
    report("restore_s", time.perf_counter() - began)
    note(f"restored: {restored.contents.describe()}; kept {restored.kept.name}")
    report("subscribers", restored.contents.counts["subscriptions"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    note(f"nproc={os.cpu_count()} python={sys.version.split()[0]} load average {load}")
    with tempfile.TemporaryDirectory(prefix="alerts-backup-bench-") as tmp:
        measure(Path(tmp), args.n)
    print(" ".join(f"{k}={v}" for k, v in FIGURES.items()), flush=True)


if __name__ == "__main__":
    main()
