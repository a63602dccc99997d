"""Issue 17's data-scale benchmark: a database the size of a national deployment, then the
portal, the admin and /verify measured against it. A measurement, not a test.

Run through ``scripts/scale_bench`` (defaults: 1,000,000 subscribers over the 3,321
communes, 10,000 warnings over two years, 100 deliveries each, 100,000 audit entries).
Everything happens in a temporary directory: the database is seeded in SQL (a few real
warnings through the workflow, one of them national with its fan-out queued to the end,
the history cloned from them), then served by waitress as ``scripts/run`` serves it.
The portal is loaded with wrk (32 connections; a Python client when wrk is missing) through
the app alone and through nginx's cache as config/nginx.conf.example configures it (its
"site:" lines set by tests/nginx_front.py), each compared with nginx serving a static file
of the same bytes in the same run; admin pages and /verify are timed one request after
another, signed in.

Each figure is printed as ``name=value`` when measured; the last line holds them all.
What they mean is in the README ("Data-scale benchmark").
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench  # noqa: E402  (scripts/bench.py: figures, ports, the template, the workflow)
from bench import note  # noqa: E402
from bench import report  # noqa: E402

from tests import nginx_front  # noqa: E402  (config/nginx.conf.example, its site: lines set)

CONNECTIONS = 32
DAYS = 730  # the history spans two years
CODE_LETTERS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # a verification code's (no 0/O/1/I)
TARGETS = {
    "warning_app_per_s": (">=", 1_000.0),
    "feed_app_per_s": (">=", 300.0),
    "warning_nginx_vs_static": (">=", 0.5),
    "region_nginx_vs_static": (">=", 0.5),
    "feed_nginx_vs_static": (">=", 0.5),
    "admin_p95_ms": ("<", 200.0),
    "verify_p95_ms": ("<", 100.0),
    "lookup_p95_ms": ("<", 100.0),
}
ADMIN_PAGES = {
    "list": "/admin/warnings/",
    "warning": "/admin/warnings/{national}",
    "progress": "/admin/warnings/{national}/progress.json",
    "queue": "/admin/warnings/queue",
    "audit": "/admin/audit",
    "users": "/admin/users",
    "reach": "/admin/regions?q=ha",
}
P95_LUA = """\
done = function(summary, latency, requests)
  io.write(string.format("p95_us=%d\\n", latency:percentile(95)))
end
"""


# --- seeding ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Sizes:
    subscribers: int
    warnings: int
    per_warning: int
    audit: int


def seed(tmp: Path, config: dict, sizes: Sizes) -> dict:
    """Build the database; return what the measurements need (ids, codes, a phone)."""
    from alerts.db import open_db

    path = bench.build_template(tmp)
    config["DATABASE"] = str(path)
    db = open_db(path)
    try:
        timed("subscribers", lambda: seed_subscribers(db, sizes.subscribers))
        account = timed("sms_account", lambda: add_sms_account(db, config))
        live = timed("live_warnings", lambda: seed_live(db, config))
        timed("national_progress", lambda: advance(db, live["national"]))
        timed("history", lambda: seed_history(db, live, account, sizes))
        timed("audit", lambda: seed_audit(db, sizes.audit))
        counted = {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("subscriptions", "warnings", "deliveries", "audit_log")
        }
        for table, count in counted.items():
            report(f"seeded_{table}", count)
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    report("db_mb", path.stat().st_size / 2**20)
    return live


def timed(name: str, step):
    began = time.perf_counter()
    result = step()
    report(f"seed_{name}_s", time.perf_counter() - began)
    return result


def seed_subscribers(db, n: int) -> None:
    """``n`` active subscribers spread evenly over the communes: half by SMS, the rest on
    Zalo, Telegram and email, one statement."""
    from alerts.db import write

    with write(db):
        db.execute(
            "CREATE TEMP TABLE communes AS SELECT row_number() OVER (ORDER BY code) - 1 AS k,"
            " code FROM regions WHERE level = 'commune'"
        )
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)"
            " INSERT INTO subscriptions (channel, address, region_code, status, test_audience,"
            " created_at, confirmed_at)"
            " SELECT CASE WHEN i % 20 < 10 THEN 'sms' WHEN i % 20 < 16 THEN 'zalo'"
            " WHEN i % 20 < 19 THEN 'telegram' ELSE 'email' END,"
            " CASE WHEN i % 20 < 10 THEN '+8490' || printf('%07d', i)"
            " WHEN i % 20 < 19 THEN CAST(700000000 + i AS TEXT)"
            " ELSE 'r' || i || '@example.vn' END,"
            " c.code, 'active', 0, '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00'"
            " FROM n JOIN communes c ON c.k = n.i % (SELECT COUNT(*) FROM communes)",
            [n],
        )


def add_sms_account(db, config: dict) -> int:
    """The ministry's SMS account (nothing is sent: no worker runs)."""
    from alerts.audit import Actor
    from alerts.delivery import channel_accounts as accounts

    return accounts.create_account(
        db,
        config,
        Actor("cli", "bca"),
        unit_code="bca",
        channel="sms",
        name="bench sms",
        base_url="http://127.0.0.1:9/esms",
        settings=bench.SMS_SETTINGS,
        secrets=bench.SMS_SECRETS,
    )


def seed_live(db, config: dict) -> dict:
    """Warnings in force through the real workflow: a national one by SMS (its fan-out
    queued to the end, as the worker would), a province's, a commune's; and two waiting
    in the approval queue."""
    from alerts.store import warnings as store
    from alerts.warnings import outbox

    national = bench.approve(
        db, config, "bo.duyet", bench.submitted(db, config, "bo.canbo", ["vn"], ["sms"])
    )
    while outbox.top_up(db):
        pass
    hanoi = bench.approve(
        db, config, "hanoi.duyet2", bench.submitted(db, config, "hanoi.canbo", ["01"], ["sms"])
    )
    commune = bench.approve(
        db,
        config,
        "hanoi.duyet",
        bench.submitted(db, config, "hoankiem.canbo", ["00070"], ["sms"]),
    )
    for user, regions in (("hanoi.canbo", ["01"]), ("haichau.canbo", ["20242"])):
        bench.submitted(db, config, user, regions, ["sms"])
    ids = {"national": national.id, "hanoi": hanoi.id, "commune": commune.id}
    return {**ids, "code": store.get_alert(db, national.id).code}


def advance(db, warning_id: int) -> None:
    """Move the national fan-out along as a worker would have: 60 % sent (half of those
    with a provider's receipt), 5 % waiting for a retry, 1 % dead, the rest queued."""
    from alerts.db import write

    with write(db):
        db.execute(
            "UPDATE deliveries SET status = CASE WHEN id % 100 < 60 THEN 'sent'"
            " WHEN id % 100 = 60 THEN 'dead' ELSE status END,"
            " attempts = CASE WHEN id % 100 < 66 THEN 1 ELSE 0 END,"
            " sent_at = CASE WHEN id % 100 < 60 THEN created_at END,"
            " provider_id = CASE WHEN id % 100 < 60 THEN 'p' || id END,"
            " receipt = CASE WHEN id % 100 < 30 THEN 'delivered' END,"
            " receipt_at = CASE WHEN id % 100 < 30 THEN created_at END"
            " WHERE warning_id = ? AND id % 100 < 66",
            [warning_id],
        )


def seed_history(db, live: dict, account: int, sizes: Sizes) -> None:
    """``sizes.warnings`` expired warnings spread over two years, cloned from the live
    commune warning with a region, a scam phone and ``sizes.per_warning`` sent SMS each."""
    from alerts.clock import to_text
    from alerts.clock import utcnow
    from alerts.db import write

    regions = [r[0] for r in db.execute("SELECT code FROM regions WHERE level != 'nation'")]
    rng, start = random.Random(17), utcnow() - timedelta(days=DAYS)
    (base,) = db.execute("SELECT MAX(id) FROM warnings").fetchone()
    rows = []
    for i in range(sizes.warnings):
        at = to_text(start + timedelta(days=DAYS * i / max(1, sizes.warnings)))
        code = "".join(rng.choice(CODE_LETTERS) for _ in range(8))
        rows.append((base + 1 + i, at, code, rng.choice(regions), f"+8498{i:07d}"))
    with write(db):
        db.conn.executemany(
            "INSERT INTO warnings (id, series_id, revision, msg_type, unit_id, status, content,"
            " content_hash, mode, expires_at, created_by, created_at, updated_by, updated_at,"
            " submitted_at, approved_by, approved_at, approved_hash, published_at, code)"
            " SELECT ?1, ?1, 1, 'Alert', unit_id, 'expired', content, content_hash, mode,"
            " strftime('%Y-%m-%dT%H:%M:%S+00:00', ?2, '+7 days'), created_by, ?2, updated_by,"
            " ?2, ?2, approved_by, ?2, approved_hash, ?2, ?3 FROM warnings WHERE id = ?6"
            " ON CONFLICT (code) DO NOTHING",
            [(*row, live["commune"]) for row in rows],
        )
        db.conn.executemany(
            "INSERT INTO warning_regions SELECT id, ?4 FROM warnings WHERE id = ?1",
            [row[:4] for row in rows],
        )
        db.conn.executemany(
            "INSERT INTO warning_indicators SELECT id, 'phone', ?5, ?5 FROM warnings WHERE id = ?1",
            [row[:5] for row in rows],
        )
        history_deliveries(db, base, account, sizes)


def history_deliveries(db, base: int, account: int, sizes: Sizes) -> None:
    """``per_warning`` sent SMS for each cloned warning, to consecutive subscribers."""
    db.execute(
        "CREATE TEMP TABLE sms_subscribers AS SELECT row_number() OVER (ORDER BY id) - 1 AS k,"
        " id, address, region_code FROM subscriptions WHERE channel = 'sms'"
    )
    db.execute("CREATE UNIQUE INDEX temp.sms_k ON sms_subscribers(k)")
    (count,) = db.execute("SELECT COUNT(*) FROM sms_subscribers").fetchone()
    per = min(sizes.per_warning, count)
    db.execute(
        "WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < ? - 1)"
        " INSERT INTO deliveries (warning_id, msg_type, channel, account_id, target,"
        " subscription_id, province_code, idempotency_key, status, attempts, next_attempt_at,"
        " expires_at, provider_id, created_at, sent_at, receipt, receipt_at)"
        " SELECT w.id, 'Alert', 'sms', ?, s.address, s.id, r.parent_code,"
        " 'w' || w.id || '-Alert-sms-' || s.address, 'sent', 1, w.published_at,"
        " w.expires_at, 'h' || w.id || '-' || n.j, w.published_at, w.published_at,"
        " CASE WHEN n.j % 3 = 0 THEN 'delivered' END,"
        " CASE WHEN n.j % 3 = 0 THEN w.published_at END"
        " FROM warnings w JOIN n JOIN sms_subscribers s ON s.k = (w.id * 7919 + n.j) % ?"
        " JOIN regions r ON r.code = s.region_code WHERE w.id > ?",
        [per, account, count, base],
    )


def seed_audit(db, n: int) -> None:
    """``n`` chained audit entries over two years, by every demo account's unit."""
    from alerts import audit
    from alerts.audit import Actor
    from alerts.clock import to_text
    from alerts.clock import utcnow
    from alerts.db import write
    from alerts.store import audit as audit_store

    actors = [
        Actor(name, unit, "127.0.0.1")
        for name, unit in db.execute(
            "SELECT u.username, n.code FROM users u JOIN units n ON n.id = u.unit_id"
        )
    ]
    actions = ("auth.login", "alert.create", "alert.submit", "alert.approve", "user.update")
    start = utcnow() - timedelta(days=DAYS)
    with write(db):
        for i in range(n):
            entry = audit.make_entry(actors[i % len(actors)], actions[i % 5], f"alert:{i}")
            at = to_text(start + timedelta(days=DAYS * i / max(1, n)))
            audit_store.append(db, dataclasses.replace(entry, at=at))


# --- serving ---------------------------------------------------------------------------------


class Servers:
    """The app under waitress (as scripts/run serves it); nginx for the static files, and
    nginx as config/nginx.conf.example configures it in front of the app (its cache)."""

    def __init__(self, tmp: Path, config: dict, threads: int):
        self.tmp, self.processes = tmp, []
        self.app_port, self.static_port = bench.free_port(), bench.free_port()
        self.front_port = bench.free_port()
        tmp.chmod(0o711)  # nginx's workers, as nobody when started by root, pass through
        env = {**os.environ, **{f"ALERTS_{k}": _setting(v) for k, v in config.items()}}
        waitress = Path(sys.executable).parent / "waitress-serve"
        self._start(
            [str(waitress), "--host", "127.0.0.1", "--port", str(self.app_port)]
            + ["--threads", str(threads), "--call", "alerts:create_app"],
            env,
            "waitress.log",
        )
        bench.wait_for_port(self.app_port, 60)
        self.static = tmp / "static"
        self.static.mkdir(mode=0o755)
        nginx = shutil.which("nginx") or bench._sbin("nginx")
        self.nginx = bool(nginx)
        if nginx:
            conf = tmp / "static-nginx.conf"
            conf.write_text(NGINX_STATIC.format(tmp=tmp, port=self.static_port))
            self._start(
                [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-err.log")],
                None,
                "nginx.log",
            )
            bench.wait_for_port(self.static_port)
            front = tmp / "front"
            front.mkdir(mode=0o755)
            app = f"127.0.0.1:{self.app_port}"
            self.processes.append(nginx_front.start(front, app, self.front_port, measured=True))

    def _start(self, argv: list[str], env, log: str) -> None:
        with open(self.tmp / log, "wb") as out:
            self.processes.append(subprocess.Popen(argv, env=env, stdout=out, stderr=out))

    def app(self, path: str) -> str:
        return f"http://127.0.0.1:{self.app_port}{path}"

    def front(self, path: str) -> str:
        return f"http://127.0.0.1:{self.front_port}{path}"

    def static_copy(self, name: str, body: bytes) -> str:
        """A static file with the same bytes, served by nginx; its URL."""
        (self.static / name).write_bytes(body)
        (self.static / name).chmod(0o644)
        return f"http://127.0.0.1:{self.static_port}/{name}"

    def close(self) -> None:
        bench.stop_processes(self.processes)


NGINX_STATIC = """\
worker_processes auto;
daemon off;
pid {tmp}/static-nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/static;
        default_type text/html;
    }}
}}
"""


def _setting(value) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)


# --- load ------------------------------------------------------------------------------------


def load(url: str, seconds: float, tmp: Path) -> tuple[float, float, int]:
    """Return (requests/s, p95 ms, failed requests) at CONNECTIONS connections."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return asyncio.run(python_load(url, seconds))
    script = tmp / "p95.lua"
    script.write_text(P95_LUA)
    out = subprocess.run(
        [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p95 = int(re.search(r"p95_us=(\d+)", out).group(1)) / 1000
    failed = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|errors): (\d+)", out))
    return rate, p95, failed


async def python_load(url: str, seconds: float) -> tuple[float, float, int]:
    """The same load from Python (when wrk is missing): CONNECTIONS loops on one client."""
    import httpx

    times: list[float] = []
    failed = 0
    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        end = time.perf_counter() + seconds

        async def loop() -> None:
            nonlocal failed
            while time.perf_counter() < end:
                began = time.perf_counter()
                response = await client.get(url)
                times.append(time.perf_counter() - began)
                failed += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - began
    return len(times) / elapsed, 1000 * percentile(times, 95), failed


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * p // 100)] if ordered else 0.0


def measure_portal(servers: Servers, live: dict, seconds: float, tmp: Path) -> None:
    """The hot public pages through the app alone and through nginx's cache, each against
    nginx serving a static copy of the same bytes."""
    import httpx

    pages = {
        "warning": f"/a/{live['code']}",
        "region": "/r/00070",
        "feed": "/feeds/vn.atom",
    }
    for name, path in pages.items():
        body = httpx.get(servers.app(path), timeout=30).raise_for_status().content
        report(f"{name}_bytes", len(body))
        rates = {"app": loaded(name, "app", servers.app(path), seconds, tmp)}
        if servers.nginx:
            rates["nginx"] = loaded(name, "nginx", cached(servers, path, body), seconds, tmp)
            static = loaded(name, "static", servers.static_copy(name, body), seconds, tmp)
            for way, rate in rates.items():
                report(f"{name}_{way}_vs_static", rate / static)


def loaded(name: str, way: str, url: str, seconds: float, tmp: Path) -> float:
    """Load ``url``, report ``<name>_<way>_per_s`` and its p95; return the rate."""
    rate, p95, failed = load(url, seconds, tmp)
    report(f"{name}_{way}_per_s", rate)
    report(f"{name}_{way}_p95_ms", p95)
    if failed:
        note(f"{name}: {failed} requests failed ({way})")
    return rate


def cached(servers: Servers, path: str, body: bytes) -> str:
    """The page's URL through nginx's cache, once the cache holds it (the same bytes)."""
    import httpx

    url = servers.front(path)
    for _ in range(2):
        answer = httpx.get(url, timeout=30, headers={"Accept-Encoding": "identity"})
    if answer.headers.get("X-Cache-Status") != "HIT" or answer.content != body:
        note(f"{path}: not a cache hit through nginx ({answer.headers.get('X-Cache-Status')})")
    return url


def signed_in(servers: Servers, username: str):
    """An httpx client signed in like a browser (CSRF token from the form)."""
    import httpx

    client = httpx.Client(base_url=servers.app(""), timeout=30)
    page = client.get("/auth/login").text
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    password = os.environ.get("DEMO_PASSWORD", "demo-canhbao-2026")
    data = {"csrf_token": token, "username": username, "password": password}
    response = client.post("/auth/login", data=data)
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {username}: {response.status_code}")
    return client


def timed_requests(client, path: str, repeats: int) -> float:
    """Return the p95 in ms of ``repeats`` requests one after another (after one warm-up)."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        client.get(path).raise_for_status()
        times.append(time.perf_counter() - began)
    return 1000 * percentile(times, 95)


def measure_admin(servers: Servers, live: dict, repeats: int) -> None:
    client = signed_in(servers, "bo.admin")
    try:
        worst = 0.0
        for name, path in ADMIN_PAGES.items():
            p95 = timed_requests(client, path.format(**live), repeats)
            report(f"admin_{name}_p95_ms", p95)
            worst = max(worst, p95)
        report("admin_p95_ms", worst)
    finally:
        client.close()


def measure_verify(servers: Servers, live: dict, repeats: int) -> None:
    import httpx

    with httpx.Client(base_url=servers.app(""), timeout=30) as client:
        report("verify_p95_ms", timed_requests(client, f"/verify?q={live['code']}", repeats))
        report("lookup_p95_ms", timed_requests(client, "/verify/lookup?q=0912345678", repeats))


# --- the run ---------------------------------------------------------------------------------

SUMMARY = (
    "seeded_subscriptions",
    "seeded_warnings",
    "seeded_deliveries",
    "seeded_audit_log",
    "warning_app_per_s",
    "warning_app_p95_ms",
    "warning_app_vs_static",
    "warning_nginx_per_s",
    "warning_nginx_p95_ms",
    "warning_nginx_vs_static",
    "region_app_per_s",
    "region_nginx_vs_static",
    "feed_app_per_s",
    "feed_app_vs_static",
    "feed_nginx_vs_static",
    "admin_progress_p95_ms",
    "admin_warning_p95_ms",
    "admin_p95_ms",
    "verify_p95_ms",
    "lookup_p95_ms",
    "seed_s",
    "total_s",
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/scale_bench", description="Data-scale benchmark (issue 17)."
    )
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--warnings", type=int, default=10_000)
    parser.add_argument("--per-warning", type=int, default=100, help="deliveries per warning")
    parser.add_argument("--audit", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="of load per portal figure")
    parser.add_argument("--repeats", type=int, default=40, help="requests per admin figure")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (scripts/run)")
    parser.add_argument("--keep", action="store_true", help="keep the directory and database")
    args = parser.parse_args(argv)
    sizes = Sizes(args.subscribers, args.warnings, args.per_warning, args.audit)
    started = time.perf_counter()
    note(f"{os.cpu_count()} CPUs; load average at start: {bench.load()} (shared machine)")
    note(f"load generator: {'wrk' if shutil.which('wrk') else 'Python (httpx), wrk missing'}")
    tmp = Path(tempfile.mkdtemp(prefix="alerts-scale-"))
    try:
        run(tmp, sizes, args, started)
    finally:
        if args.keep:
            note(f"kept: {tmp} (the database: {tmp / 'template.db'})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report("total_s", time.perf_counter() - started)
    note(f"load average at the end: {bench.load()}")
    figures = bench.FIGURES
    missed = [k for k, (op, target) in TARGETS.items() if not meets(figures.get(k), op, target)]
    note("targets missed: " + (", ".join(missed) if missed else "none"))
    print(" ".join(f"{k}={bench.FIGURES.get(k)}" for k in SUMMARY), flush=True)
    return 0


def run(tmp: Path, sizes: Sizes, args, started: float) -> None:
    """Seed, serve and measure in ``tmp``."""
    config = bench.bench_config()
    config.update(SECRET_KEY="scale-bench-" + "x" * 32)
    live = seed(tmp, config, sizes)
    report("seed_s", time.perf_counter() - started)
    servers = Servers(tmp, config, args.threads)
    try:
        if not servers.nginx:
            note("nginx is not installed: no static ceiling, no cache in front, no ratios")
        measure_portal(servers, live, args.seconds, tmp)
        measure_admin(servers, live, args.repeats)
        measure_verify(servers, live, args.repeats)
    finally:
        servers.close()


def meets(value, op: str, target: float) -> bool:
    if value is None:
        return False
    return value >= target if op == ">=" else value < target


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
