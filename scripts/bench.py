"""Issue 5's benchmark: fan-out of one warning to N residents, measured, not tested.

Run through ``scripts/bench [N]`` (default N = 100,000). Everything happens in a temporary
directory: a real migrated SQLite file (copied fresh for each measurement from one seeded
template), local HTTP sinks on loopback (Debian's nginx when it is there, else a small
asyncio server in its own process) and the fake Telegram API of the tests.

Each figure is printed as ``name=value`` when it is measured; the last line holds them all.
What they mean is in the README ("Benchmark").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakes (the fake Telegram API) lives in the checkout

ANSWER = b'{"CodeResult":"100","SMSID":"x"}'
SLOW_SECONDS = 0.05
# The engine drains in calls of this budget (the worker's own is 20 s), and after each the
# bare loop sends BARE_SHARE of what the call sent: engine and bare loop take turns every
# few seconds, so both see the same machine (its speed drifts by a third within minutes).
SLICE_SECONDS = 4.0
BARE_SHARE = 0.4
APPRISE_SHARE = 0.05  # Apprise takes turns too: 5,000 messages at the default N
CLIENT_SAMPLE = 5_000
LATENCY_N = 10_000
LATENCY_BARE_SAMPLE = 2_000
PROVINCE_N = 1_000_000
PACED_N = 300
HANGING_N = 10_000
TARGETS = {
    "ratio": 0.8,
    "vs_apprise": 3.0,
    "latency50_per_s": 1_000.0,
    "enqueue_1m_s": 3.0,
    "peak_rss_mb": 300.0,
    "first_delivery_s": 2.0,
    "paced_per_s": 27.0,
    "paced_429s": 0,
    "hanging_first_telegram_s": 3.0,
    "hanging_cancel_claimed_s": 3.0,
}
FIGURES: dict[str, object] = {}
ERRORS: list[str] = []  # transport errors of the bare loop


def report(name: str, value) -> None:
    """Remember a figure and print it at once."""
    if isinstance(value, float):
        value = round(value, 3 if value < 10 else 1)
    FIGURES[name] = value
    print(f"{name}={value}", flush=True)


def note(text: str) -> None:
    print(f"# {text}", flush=True)


# --- sinks -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")

NGINX_CONF = """\
{load}
worker_processes 1;
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    default_type application/json;
    # The fast sink: every path, every method, answered at once like eSMS's "accepted".
    server {{
        listen 127.0.0.1:{fast};
        location / {{ return 200 '{answer}'; }}
    }}
{slow}}}
"""
NGINX_SLOW = """\
    # The 50 ms sink (echo module): a provider answering in tens of milliseconds.
    server {{
        listen 127.0.0.1:{port};
        location / {{ echo_sleep {seconds}; echo -n '{answer}'; }}
    }}
"""


def stop_processes(processes: list) -> None:
    """Stop the servers a run started: all asked at once, then each given 5 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


class Sinks:
    """The fast sink and the 50 ms sink on two loopback ports; ``kind`` says what serves."""

    def __init__(self, tmp: Path, force_python: bool = False):
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.fast_port, self.slow_port = free_port(), free_port()
        nginx = None if force_python else shutil.which("nginx") or _sbin("nginx")
        if nginx:
            echo = ECHO_MODULE.exists()
            self._nginx(nginx, echo)
            self.fast_kind = "nginx (return 200)"
            if echo:
                self.slow_kind = "nginx (echo_sleep 0.05)"
            else:
                self._python(self.slow_port, SLOW_SECONDS)
                self.slow_kind = "python asyncio sink (sleep 0.05), nginx has no echo module"
        else:
            self._python(self.fast_port, 0.0)
            self._python(self.slow_port, SLOW_SECONDS)
            why = "forced" if force_python else "nginx is not installed"
            self.fast_kind = f"python asyncio sink ({why})"
            self.slow_kind = f"python asyncio sink, sleep 0.05 ({why})"
        wait_for_port(self.fast_port)
        wait_for_port(self.slow_port)

    def _nginx(self, nginx: str, echo: bool) -> None:
        answer = ANSWER.decode()
        slow = (
            NGINX_SLOW.format(port=self.slow_port, seconds=SLOW_SECONDS, answer=answer)
            if echo
            else ""
        )
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                load=f"load_module {ECHO_MODULE};" if echo else "",
                tmp=self.tmp,
                fast=self.fast_port,
                answer=answer,
                slow=slow,
            )
        )
        with open(self.tmp / "nginx-stderr.log", "wb") as log:  # nginx keeps its own copy
            self.processes.append(
                subprocess.Popen(
                    [nginx, "-p", str(self.tmp), "-c", str(conf), "-e", str(self.tmp / "err.log")],
                    stdout=log,
                    stderr=log,
                )
            )

    def _python(self, port: int, delay: float) -> None:
        self.processes.append(
            subprocess.Popen(
                [sys.executable, __file__, "--serve-sink", str(port), str(delay)],
                stdout=subprocess.DEVNULL,
            )
        )

    def url(self, slow: bool = False) -> str:
        return f"http://127.0.0.1:{self.slow_port if slow else self.fast_port}"

    def close(self) -> None:
        stop_processes(self.processes)


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def serve_sink(port: int, delay: float) -> None:
    """A minimal HTTP/1.1 keep-alive server answering every request with ANSWER, after
    ``delay`` seconds (the fallback when nginx or its echo module is missing)."""
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(ANSWER)).encode()
        + b"\r\n\r\n"
        + ANSWER
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if delay:
                    await asyncio.sleep(delay)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- the application side ----------------------------------------------------------------------


def bench_config() -> dict:
    from cryptography.fernet import Fernet

    return {
        "ENV": "testing",
        "OFFICIAL_DOMAINS": ("bocongan.gov.vn", "gov.vn"),
        "PUBLIC_URL": "https://canhbao.bocongan.gov.vn",
        "SMS_MAX_SEGMENTS": 2,
        "SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "DATABASE": "",
        "DATA_KEY": Fernet.generate_key().decode(),
    }


def build_template(tmp: Path) -> Path:
    """Migrate, load the map and units, seed the demo users (as tests/conftest.py does)."""
    from alerts import migrations
    from alerts import seed
    from alerts.db import open_db

    path = tmp / "template.db"
    db = open_db(path)
    migrations.apply(db)
    seed.load_reference_data(db)
    seed.seed_demo_users(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def fresh_db(template: Path, tmp: Path, name: str):
    from alerts.db import open_db

    path = tmp / f"{name}.db"
    shutil.copy(template, path)
    return open_db(path)


def acting_as(db, username: str):
    from alerts.audit import Actor
    from alerts.models import Acting
    from alerts.store import units as unit_store
    from alerts.store import users as user_store

    user = user_store.get_user_by_username(db, username)
    unit = unit_store.get_unit(db, user.unit_id)
    return Acting(user, unit, Actor(username, unit.code, "127.0.0.1"))


def submitted(db, config, username: str, regions: list[str], channels: list[str]) -> int:
    """A submitted warning (the tests' draft: a fake-police OTP call)."""
    from alerts.clock import utcnow
    from alerts.warnings import workflow

    draft = {
        "headline": "Cảnh báo cuộc gọi giả danh công an yêu cầu cung cấp mã OTP",
        "description": "Đối tượng gọi điện tự xưng cán bộ công an phường, đề nghị đọc mã OTP.",
        "instruction": "Không cung cấp mã OTP cho bất kỳ ai. Gọi 113 khi nghi ngờ.",
        "warning_type": "scam_phone",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "regions": regions,
        "channels": channels,
        "expires_at": (utcnow() + timedelta(days=7)).isoformat(),
        "indicators": {"phones": ["0912 345 678"], "accounts": [], "links": []},
    }
    acting = acting_as(db, username)
    alert_id = workflow.create(db, acting, draft, config=config)
    workflow.submit(db, acting, alert_id, config=config)
    return alert_id


def approve(db, config, username: str, alert_id: int):
    from alerts.store import warnings as store
    from alerts.warnings import workflow

    seen = store.get_alert(db, alert_id).content_hash
    return workflow.approve(db, acting_as(db, username), alert_id, seen_hash=seen, config=config)


def add_account(db, config, channel: str, base_url: str, settings: dict, secrets: dict) -> int:
    from alerts.audit import Actor
    from alerts.delivery import channel_accounts as accounts

    return accounts.create_account(
        db,
        config,
        Actor("cli", "bca"),
        unit_code="ca-01",
        channel=channel,
        name=f"bench {channel}",
        base_url=base_url,
        settings=settings,
        secrets=secrets,
    )


def add_subscribers(db, channel: str, rows) -> None:
    """Insert active subscribers (address, region) in one transaction with executemany."""
    from alerts.clock import now_text
    from alerts.db import write

    now = now_text()
    with write(db):
        db.conn.executemany(
            "INSERT INTO subscriptions (channel, address, region_code, status, test_audience,"
            " created_at, confirmed_at) VALUES (?, ?, ?, 'active', 0, ?, ?)",
            ((channel, address, region, now, now) for address, region in rows),
        )


def phone(i: int) -> str:
    """A valid Vietnamese mobile number (Viettel's 090 prefix), unique per i < 10^7."""
    return f"+8490{i:07d}"


def statuses(db, alert_id: int) -> dict[str, int]:
    rows = db.execute(
        "SELECT status, COUNT(*) FROM deliveries WHERE warning_id = ? GROUP BY status",
        [alert_id],
    )
    return dict(rows.fetchall())


SMS_SETTINGS = {"brandname": "CONGAN"}
SMS_SECRETS = {"api_key": "bench-api-key", "secret_key": "bench-secret-key"}


def thread_cpu(dispatcher) -> dict[str, float]:
    """CPU seconds so far of the engine's threads: its event loop, the store thread and the
    writer's (the executors start theirs on first use). Read per thread, from the kernel's
    clock of each, so the figures say where the engine's time goes without a profiler."""
    threads = {"loop": [dispatcher.loop_thread]}
    threads["store"] = list(dispatcher.store_thread._threads)
    threads["writer"] = list(dispatcher.writer_thread._threads)
    return {
        name: sum(time.clock_gettime(time.pthread_getcpuclockid(t.ident)) for t in found)
        for name, found in threads.items()
    }


def fan_out(
    template: Path, tmp: Path, config: dict, url: str, n: int, name: str, between=None
) -> dict:
    """Publish a commune's SMS warning to ``n`` subscribers and drain it with the engine.

    The drain runs as the worker runs it: ``dispatch_due`` calls with a budget (here
    SLICE_SECONDS), each claiming until its budget is spent and then finishing what it
    holds. ``between(sent, text)`` runs after each call but the last, outside the timed
    drain (the bare loop's slices: see ``measure``).

    Returns seconds for approve (enqueue), the first batch, the drain (the calls only),
    the CPU seconds of the engine's threads during the calls, and the SMS text sent (for
    the bare loop's body)."""
    from alerts.delivery.engine import Dispatcher

    db = fresh_db(template, tmp, name)
    add_account(db, config, "sms", url, SMS_SETTINGS, SMS_SECRETS)
    add_subscribers(db, "sms", ((phone(i), "00070") for i in range(n)))
    alert_id = submitted(db, config, "hoankiem.canbo", ["00070"], ["sms"])
    dispatcher = Dispatcher(config)
    text = None
    try:
        began = time.perf_counter()
        alert = approve(db, config, "hanoi.duyet", alert_id)
        approved = time.perf_counter()
        first = dispatcher.dispatch_due(db, budget=0)  # one batch: the first rows marked sent
        first_batch = time.perf_counter()
        drain_s = first_batch - approved
        lags = list(first.lags)
        cpu = dict.fromkeys(("loop", "store", "writer"), 0.0)
        while True:
            started, before = time.perf_counter(), thread_cpu(dispatcher)
            summary = dispatcher.dispatch_due(db, budget=SLICE_SECONDS)
            drain_s += time.perf_counter() - started
            for name, seconds in thread_cpu(dispatcher).items():
                cpu[name] += seconds - before[name]
            lags += summary.lags
            claimed = summary.claimed
            if not claimed:
                break
            if between is not None:
                text = text or sms_text(db, config, alert)
                between(claimed, text)
    finally:
        dispatcher.close()
    found = statuses(db, alert_id)
    if found.get("sent", 0) != n:
        note(f"{name}: not every delivery was sent: {found}")
    retried, duplicates = db.execute(
        "SELECT SUM(attempts > 1), SUM(possible_duplicate) FROM deliveries WHERE warning_id = ?",
        [alert_id],
    ).fetchone()
    if retried or duplicates:
        why = db.execute(
            "SELECT DISTINCT json_extract(h.value, '$.detail') FROM deliveries d,"
            " json_each(d.history) h WHERE d.warning_id = ? AND d.attempts > 1"
            " AND json_extract(h.value, '$.reaction') != 'ok' LIMIT 5",
            [alert_id],
        ).fetchall()
        note(
            f"{name}: {retried} deliveries needed a retry, {duplicates} possible duplicates"
            f" ({'; '.join(str(w[0]) for w in why)})"
        )
    text = text or sms_text(db, config, alert)
    db.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp / f"{name}.db{suffix}").unlink(missing_ok=True)
    return {
        "enqueue_s": approved - began,
        "first_delivery_s": first_batch - began if first.outcomes.get("ok") else None,
        "drain_s": drain_s,
        "cpu": cpu,
        "sent": found.get("sent", 0),
        "text": text,
        "alert_id": alert_id,
        "lags": sorted(lags),
    }


def sms_text(db, config: dict, alert) -> str:
    """The SMS text the engine sends for ``alert`` (the bare loop posts the same body)."""
    from alerts.render import RenderSettings
    from alerts.render import registry
    from alerts.warnings import publication

    message = publication.message_for(db, alert, public_url=config["PUBLIC_URL"])
    return registry.RENDERERS["sms"](message, RenderSettings(sms_max_segments=2)).parts["text"]


def sms_payload(text: str, i: int) -> dict:
    """The body the SMS client posts (alerts/channels/sms.py), for one resident."""
    return {
        "ApiKey": SMS_SECRETS["api_key"],
        "SecretKey": SMS_SECRETS["secret_key"],
        "Phone": "0" + phone(i)[3:],
        "Content": text,
        "Brandname": SMS_SETTINGS["brandname"],
        "SmsType": "2",
        "IsUnicode": "0",
        "Sandbox": "0",
        "RequestId": f"w1-Alert-sms-1-{phone(i)}",
    }


async def concurrently(n: int, workers: int, send) -> tuple[float, int]:
    """Run ``await send(i)`` for i < n on ``workers`` coroutines of one event loop pulling
    from one counter; return the seconds and how many returned True."""
    counter = itertools.count()

    async def loop() -> int:
        ok = 0
        while (i := next(counter)) < n:
            ok += bool(await send(i))
        return ok

    began = time.perf_counter()
    oks = await asyncio.gather(*(loop() for _ in range(workers)))
    return time.perf_counter() - began, sum(oks)


def bare_loop(url: str, n: int, text: str, workers: int | None = None) -> tuple[float, int]:
    """The same POSTs through the engine's httpx.AsyncClient on one event loop, at the SMS
    concurrency (or ``workers`` at once), no database."""
    import httpx

    from alerts.channels import sms
    from alerts.delivery.engine import http_client
    from alerts.delivery.policy import POLICIES

    target = url.rstrip("/") + sms.PATH

    async def run() -> tuple[float, int]:
        async with http_client() as http:

            async def send(i: int) -> bool:
                try:
                    response = await http.post(target, json=sms_payload(text, i))
                except httpx.HTTPError as error:
                    ERRORS.append(type(error).__name__)
                    return False
                return response.status_code == 200 and response.json().get("CodeResult") == "100"

            return await concurrently(n, workers or POLICIES["sms"].concurrency, send)

    return asyncio.run(run())


def client_loop(url: str, n: int, text: str) -> tuple[float, int]:
    """The bare loop through our SMS client (sms.send: payload, capped read, classify)."""
    from alerts.channels import Account
    from alerts.channels import Item
    from alerts.channels import Reaction
    from alerts.channels import sms
    from alerts.delivery.engine import http_client
    from alerts.delivery.policy import POLICIES
    from alerts.render import Rendering

    account = Account(1, "sms", url, SMS_SETTINGS, SMS_SECRETS)
    rendering = Rendering("sms", "text/plain", {"text": text})

    async def run() -> tuple[float, int]:
        async with http_client() as http:

            async def send(i: int) -> bool:
                item = Item(f"w1-Alert-sms-1-{phone(i)}", phone(i), rendering)
                return (await sms.send(http, account, item)).reaction == Reaction.OK

            return await concurrently(n, POLICIES["sms"].concurrency, send)

    return asyncio.run(run())


class Turns:
    """What one contender sent in its turns between the engine's drain calls."""

    def __init__(self):
        self.sent, self.ok, self.seconds, self.rates = 0, 0, 0.0, []
        self.cpu = 0.0  # CPU seconds of the thread that ran the turns

    def add(self, sent: int, seconds: float, ok: int, cpu: float = 0.0) -> None:
        self.cpu += cpu
        self.sent += sent
        self.ok += ok
        self.seconds += seconds
        self.rates.append(ok / seconds)

    def describe(self) -> str:
        return f"{len(self.rates)} turns (from {min(self.rates):.0f} to {max(self.rates):.0f}/s)"


def apprise_run(port: int, n: int, text: str) -> tuple[float, int]:
    """Apprise's json:// target, one URL per resident (the phone as a payload extra), all
    sent by one notify() on Apprise's own thread pool. Returns the seconds notify() took
    (parsing the URLs not counted) and how many went out: ``n``, or 0 if any failed
    (notify() only says whether all did)."""
    import apprise

    apobj = apprise.Apprise()
    path = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
    apobj.add([f"json://127.0.0.1:{port}{path}?:Phone=0{phone(i)[3:]}" for i in range(n)])
    began = time.perf_counter()
    delivered = apobj.notify(body=text, title="")
    return time.perf_counter() - began, n if delivered else 0


def province_subscribers(db, n: int) -> int:
    """Add ``n`` active SMS subscribers spread over Hà Nội's communes, generated in SQL (a
    Python loop would take longer than what is timed); return how many communes."""
    from alerts.clock import now_text
    from alerts.db import write

    communes = [
        r[0] for r in db.execute("SELECT code FROM regions WHERE parent_code = '01' ORDER BY code")
    ]
    now = now_text()
    with write(db):
        db.execute("CREATE TEMP TABLE bench_communes (k INTEGER PRIMARY KEY, code TEXT)")
        db.conn.executemany("INSERT INTO bench_communes VALUES (?, ?)", list(enumerate(communes)))
        db.execute(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ? - 1)"
            " INSERT INTO subscriptions (channel, address, region_code, status, test_audience,"
            " created_at, confirmed_at) SELECT 'sms', printf('+8490%07d', i), c.code, 'active',"
            " 0, ?, ? FROM s JOIN bench_communes c ON c.k = i * ? / ?",
            [n, now, now, len(communes), n],
        )
        db.execute("DROP TABLE bench_communes")
    return len(communes)


def enqueue_province(template: Path, tmp: Path, config: dict) -> tuple[float, float]:
    """1,000,000 SMS subscribers over Hà Nội's communes; time the province-wide approval
    (which queues the first chunk in its transaction, alerts/warnings/outbox.py), then the
    worker's top-ups that queue the rest, chunk by chunk, as its ticks would (without the
    two seconds between them). Returns both times in seconds."""
    from alerts.warnings import outbox

    db = fresh_db(template, tmp, "province")
    add_account(db, config, "sms", "http://127.0.0.1:9", SMS_SETTINGS, SMS_SECRETS)
    began = time.perf_counter()
    communes = province_subscribers(db, PROVINCE_N)
    inserted = time.perf_counter() - began
    alert_id = submitted(db, config, "hanoi.canbo", ["01"], ["sms"])
    began = time.perf_counter()
    approve(db, config, "hanoi.duyet", alert_id)
    approval = time.perf_counter() - began
    first = sum(statuses(db, alert_id).values())
    longest, chunks = 0.0, 0
    while True:
        began_chunk = time.perf_counter()
        if not outbox.top_up(db):
            break
        longest, chunks = max(longest, time.perf_counter() - began_chunk), chunks + 1
    queued = time.perf_counter() - began  # the approval and every top-up
    rows = sum(statuses(db, alert_id).values())
    db.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp / f"province.db{suffix}").unlink(missing_ok=True)
    note(
        f"enqueue_1m: {PROVINCE_N} subscribers over the {communes} communes of Hà Nội"
        f" (inserted in {inserted:.1f} s, not counted); the approval queued {first},"
        f" then {chunks} top-ups the rest (the longest {longest:.2f} s): {rows} deliveries"
    )
    return approval, queued


def report_enqueue(template: Path, tmp: Path, config: dict) -> None:
    approval, queued = enqueue_province(template, tmp, config)
    report("enqueue_1m_s", approval)
    report("queued_1m_s", queued)


def serve_fake(port: int) -> None:
    """The fake channel servers of the tests (tests.fakes.server, what FakeChannels runs),
    in their own process like a real provider: they do not share the engine's GIL."""
    import logging

    from tests.fakes.server import serve
    from tests.fakes.state import FakeState

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    serve(port, FakeState()).serve_forever(poll_interval=0.02)


def add_fake_telegram(db, config: dict, url: str) -> int:
    """Add a bot on the fake Bot API at ``url`` that posts to no channel (residents only)."""
    from tests.fakes import telegram as fake_telegram

    settings = {"chat_id": "@canhbao_bench", "broadcast": "0"}
    return add_account(
        db, config, "telegram", f"{url}/telegram", settings, {"bot_token": fake_telegram.TOKEN}
    )


def report_paced(template: Path, tmp: Path, config: dict) -> None:
    """Report the paced fan-out against the fake Telegram API (paced_per_s, paced_429s)."""
    result = paced(template, tmp, config)
    note(
        f"paced: {result['sent']} sent, {result['requests']} requests reached the fake,"
        f" {result['refused']} answered 429 ({result['recorded_429']} in the engine's history)"
    )
    report("paced_per_s", result["sent"] / result["seconds"])
    report("paced_429s", result["refused"])


def paced(template: Path, tmp: Path, config: dict) -> dict:
    """300 residents' Telegram chats through the engine against the fake Bot API (30/s per
    bot, 1/s per chat, a sliding one-second window). Returns seconds, sent, the requests the
    fake received, the 429s it answered and the 429s the engine recorded."""
    import httpx

    from alerts.delivery.engine import Dispatcher

    port = free_port()
    fake = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port)])
    db = fresh_db(template, tmp, "paced")
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        add_fake_telegram(db, config, url)
        add_subscribers(db, "telegram", ((str(700_000_000 + i), "00070") for i in range(PACED_N)))
        alert_id = submitted(db, config, "hoankiem.canbo", ["00070"], ["telegram"])
        approve(db, config, "hanoi.duyet", alert_id)
        dispatcher = Dispatcher(config)
        try:
            began = time.perf_counter()
            while time.perf_counter() - began < 120:
                dispatcher.dispatch_due(db, budget=60)
                found = statuses(db, alert_id)
                if found.get("sent", 0) >= PACED_N or not found.get("queued"):
                    break
                time.sleep(0.2)  # a retry waits for its time (Retry-After)
            seconds = time.perf_counter() - began
        finally:
            dispatcher.close()
        requests = [
            r
            for r in httpx.get(f"{url}/_control/requests", params={"channel": "telegram"}).json()
            if r["path"].endswith("/sendMessage")
        ]
    finally:
        fake.terminate()
        fake.wait(5)
    recorded_429 = db.execute(
        "SELECT COUNT(*) FROM deliveries d, json_each(d.history) h WHERE d.warning_id = ?"
        " AND json_extract(h.value, '$.status') = 429",
        [alert_id],
    ).fetchone()[0]
    db.close()
    sent = found.get("sent", 0)
    if sent != PACED_N:
        note(f"paced: not every delivery was sent: {found}")
    return {
        "seconds": seconds,
        "sent": sent,
        "requests": len(requests),
        "refused": len(requests) - sent,  # each sent delivery is one accepted request
        "recorded_429": recorded_429,
    }


def hanging(template: Path, tmp: Path, config: dict) -> dict:
    """Issue 13's fault: HANGING_N SMS residents queued on a gateway that accepts every
    connection and never answers (the fake eSMS, each answer 600 s late), then a warning for
    Telegram only approved meanwhile. The engine runs as the worker runs it (started, on its
    own connection). Returns seconds from that approval to its first delivery reaching the
    fake Bot API, and from a cancel of the SMS warning to its first Cancel claimed."""
    import httpx

    from alerts.delivery.engine import Dispatcher
    from alerts.warnings import workflow
    from tests.fakes import esms as fake_esms

    port = free_port()
    fake = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port)])
    db = fresh_db(template, tmp, "hanging")
    url = f"http://127.0.0.1:{port}"

    def arrived(channel: str) -> list[dict]:
        return httpx.get(f"{url}/_control/requests", params={"channel": channel}).json()

    def wait_until(condition, seconds: float = 60.0) -> float:
        deadline = time.perf_counter() + seconds
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("hanging: timed out")
            time.sleep(0.01)
        return time.perf_counter()

    try:
        wait_for_port(port)
        httpx.post(f"{url}/_control/delay", json={"channel": "esms", "seconds": 600})
        sms = {"brandname": sorted(fake_esms.BRANDNAMES)[0]}
        sms_secrets = {"api_key": fake_esms.API_KEY, "secret_key": fake_esms.SECRET_KEY}
        add_account(db, config, "sms", f"{url}/esms", sms, sms_secrets)
        add_fake_telegram(db, config, url)
        add_subscribers(db, "sms", ((phone(i), "00070") for i in range(HANGING_N)))
        add_subscribers(db, "telegram", ((str(700_000_000 + i), "00070") for i in range(10)))
        sms_id = submitted(db, config, "hoankiem.canbo", ["00070"], ["sms"])
        approve(db, config, "hanoi.duyet", sms_id)
        dispatcher = Dispatcher(config)
        try:
            dispatcher.start(db)
            wait_until(lambda: len(arrived("esms")) >= 100)
            telegram_id = submitted(db, config, "hoankiem.canbo", ["00070"], ["telegram"])
            began = time.perf_counter()
            approve(db, config, "hanoi.duyet", telegram_id)
            first = wait_until(lambda: arrived("telegram")) - began
            began = time.perf_counter()
            acting = acting_as(db, "hanoi.duyet")
            workflow.cancel(db, acting, sms_id, reason="Tin sai", config=config)
            claimed = "SELECT COUNT(*) FROM deliveries WHERE msg_type = 'Cancel'"
            claimed += " AND status = 'sending'"
            cancel = wait_until(lambda: db.execute(claimed).fetchone()[0]) - began
            hung = len(arrived("esms"))
        finally:
            dispatcher.close()
    finally:
        fake.terminate()
        fake.wait(5)
        db.close()
    return {"first_s": first, "cancel_s": cancel, "hung": hung}


def profile_engine(template: Path, tmp: Path, config: dict, url: str, n: int) -> None:
    """Run the engine's fan-out under cProfile in every thread; print where the time goes
    (the event loop's thread, where everything is sent, and the store thread apart)."""
    import cProfile
    import io
    import pstats
    import threading

    profiles: list[tuple[str, cProfile.Profile]] = []
    original = threading.Thread.run

    def run(self) -> None:
        profile = cProfile.Profile()
        profiles.append((self.name, profile))
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    threading.Thread.run = run
    try:
        result = fan_out(template, tmp, config, url, n, "profile")
    finally:
        threading.Thread.run = original
    for thread in threading.enumerate():
        if thread.name.startswith(("store", "engine-loop")):
            thread.join(5)
    note(f"profile: {n} deliveries, drain {result['drain_s']:.1f} s under the profiler")
    stores = [p for name, p in profiles if name.startswith("store")]
    loops = [p for name, p in profiles if name.startswith("engine-loop")]
    for title, stats in (
        ("event loop thread (sending)", pstats.Stats(*loops) if loops else None),
        ("store thread (claim, prepare, record)", pstats.Stats(*stores) if stores else None),
    ):
        if stats is None:
            continue
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats.stream = out
            stats.sort_stats(order).print_stats(os.environ.get("BENCH_PROFILE_FILTER", ""), 25)
            print(f"## {title}, by {order}")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


# --- the run ---------------------------------------------------------------------------------


SUMMARY = (
    "engine_per_s",
    "bare_per_s",
    "ratio",
    "apprise_per_s",
    "vs_apprise",
    "latency50_per_s",
    "peak_rss_mb",
    "enqueue_1m_s",
    "queued_1m_s",
    "first_delivery_s",
    "paced_per_s",
    "paced_429s",
    "hanging_first_telegram_s",
    "hanging_cancel_claimed_s",
    "record_lag_p99_ms",
)


def main(argv: list[str]) -> int:
    import logging

    if argv[:1] == ["--serve-sink"]:
        serve_sink(int(argv[1]), float(argv[2]))
        return 0
    if argv[:1] == ["--serve-fake"]:
        serve_fake(int(argv[1]))
        return 0
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description="Fan-out benchmark (issue 5): name=value figures."
    )
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="residents (100000)")
    parser.add_argument("--python-sink", action="store_true", help="use the Python sink")
    parser.add_argument(
        "--profile", action="store_true", help="only profile the engine's fan-out of N (cProfile)"
    )
    parser.add_argument(
        "--only",
        choices=["enqueue", "paced"],
        help="only one figure (enqueue: enqueue_1m_s; paced: paced_per_s and paced_429s)",
    )
    args = parser.parse_args(argv)
    logging.getLogger("apprise").setLevel(logging.ERROR)
    started = time.perf_counter()
    from alerts.delivery.policy import POLICIES

    concurrency = POLICIES["sms"].concurrency
    python = sys.version.split()[0]
    note(f"N={args.n}; SMS concurrency {concurrency}; {os.cpu_count()} CPUs; Python {python}")
    note(f"load average at start: {load()} (other work on the machine skews every figure)")
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as name:
        tmp = Path(name)
        sinks = Sinks(tmp, force_python=args.python_sink)
        try:
            note(f"fast sink: {sinks.fast_kind} at {sinks.url()}")
            note(f"50 ms sink: {sinks.slow_kind} at {sinks.url(slow=True)}")
            config = bench_config()
            began = time.perf_counter()
            template = build_template(tmp)
            seconds = time.perf_counter() - began
            note(f"template database (migrated, map, units, demo users): {seconds:.1f} s")
            if args.profile:
                profile_engine(template, tmp, config, sinks.url(), args.n)
                return 0
            if args.only:
                {"enqueue": report_enqueue, "paced": report_paced}[args.only](template, tmp, config)
                return 0
            measure(tmp, template, config, sinks, args.n, concurrency)
        finally:
            sinks.close()
    report("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report("total_s", time.perf_counter() - started)
    note(f"load average at the end: {load()}")
    missed = [k for k, target in TARGETS.items() if not meets(k, FIGURES.get(k), target)]
    note("targets missed: " + (", ".join(missed) if missed else "none"))
    print(" ".join(f"{k}={FIGURES.get(k)}" for k in SUMMARY), flush=True)
    return 0


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def meets(name: str, value, target) -> bool:
    if value is None:
        return False
    if name == "paced_429s":
        return value <= target
    if name in ("enqueue_1m_s", "peak_rss_mb", "first_delivery_s") or name.startswith("hanging"):
        return value < target
    return value >= target


def note_cpu(engine: dict, bare: Turns) -> None:
    """Say where the ratio comes from: CPU per message on the engine's loop against the
    bare loop's, and the share of a CPU each loop got (what it did not get, it waited for:
    a commit, a claim, the GIL, or the machine's other work, the engine's own SQLite on
    its store and writer threads among it)."""
    cpu, sent = engine["cpu"], max(1, engine["sent"])
    note(
        f"cpu: engine loop {1e6 * cpu['loop'] / sent:.0f} µs a message"
        f" ({cpu['loop'] / engine['drain_s']:.0%} of a CPU), bare loop"
        f" {1e6 * bare.cpu / max(1, bare.sent):.0f} µs ({bare.cpu / bare.seconds:.0%});"
        f" the store thread {1e6 * cpu['store'] / sent:.0f} µs and the writer's"
        f" {1e6 * cpu['writer'] / sent:.0f} µs a message"
    )


def measure(tmp: Path, template: Path, config: dict, sinks: Sinks, n: int, concurrency: int):
    report("n", n)
    # The bare loop (same client, same body, same concurrency, no bookkeeping) and Apprise
    # take turns with the engine: a slice of each after every drain call (see fan_out).
    turns = {"bare": Turns(), "apprise": Turns()}

    def between(claimed: int, text: str) -> None:
        size = max(1_000, round(claimed * BARE_SHARE))
        cpu = time.thread_time()
        seconds, ok = bare_loop(sinks.url(), size, text)
        turns["bare"].add(size, seconds, ok, time.thread_time() - cpu)
        size = max(200, round(claimed * APPRISE_SHARE))
        turns["apprise"].add(size, *apprise_run(sinks.fast_port, size, text))

    # 1. The engine: approve (enqueue N), then drain through the fast sink.
    engine = fan_out(template, tmp, config, sinks.url(), n, "engine", between=between)
    note(f"engine: approve + enqueue of {n} took {engine['enqueue_s']:.2f} s (not counted)")
    report("engine_per_s", engine["sent"] / engine["drain_s"])
    lags = engine["lags"]
    note(
        f"record_lag: from an answer to the commit recording it, {len(lags)} sampled;"
        " a lane's next attempt starts only after (docs/reliability.md#durability)"
    )
    report("record_lag_p50_ms", 1000 * lags[len(lags) // 2] if lags else None)
    report("record_lag_p99_ms", 1000 * lags[int(len(lags) * 0.99)] if lags else None)
    report("record_lag_max_ms", 1000 * lags[-1] if lags else None)
    note("first_delivery: from the approve call to the commit of the first batch marked sent")
    report("first_delivery_s", engine["first_delivery_s"])
    text = engine["text"]
    if not turns["bare"].rates:  # the engine needed a single call: one turn after it
        between(engine["sent"], text)

    # 2. The bare loop's turns, then the ratio.
    bare = turns["bare"]
    note(
        f"bare: {bare.sent} POSTs in {bare.describe()} between the engine's drain calls of"
        f" {SLICE_SECONDS:.0f} s, {concurrency} at once, alerts.delivery.engine.http_client()"
    )
    if bare.ok != bare.sent:
        failed = bare.sent - bare.ok
        note(f"bare: {failed} failed ({', '.join(sorted(set(ERRORS))) or 'wrong answer'})")
    report("bare_per_s", bare.ok / bare.seconds)
    report("ratio", FIGURES["engine_per_s"] / FIGURES["bare_per_s"])
    note_cpu(engine, bare)
    sample = min(n, CLIENT_SAMPLE)
    seconds, ok = bare_loop(sinks.url(), sample, text, workers=1)
    note(f"bare_sequential: the bare loop one request at a time, {sample} POSTs")
    report("bare_sequential_per_s", ok / seconds)
    seconds, ok = client_loop(sinks.url(), sample, text)
    note(f"sms_client: the bare loop through alerts.channels.sms.send, {sample} messages")
    report("sms_client_per_s", ok / seconds)

    # 3. Apprise's turns.
    apprise = turns["apprise"]
    note(
        f"apprise: {apprise.sent} json:// targets in {apprise.describe()}, one notify() each on"
        f" its own thread pool (parsing the URLs not counted), {apprise.ok} ok"
    )
    report("apprise_per_s", apprise.ok / apprise.seconds)
    report("vs_apprise", FIGURES["engine_per_s"] / FIGURES["apprise_per_s"])

    # 4. The 50 ms sink.
    slow_n = min(n, LATENCY_N)
    slow = fan_out(template, tmp, config, sinks.url(slow=True), slow_n, "latency50")
    note(
        f"latency50: the engine's fan-out of {slow_n} to the 50 ms sink; a sequential client"
        f" makes 20/s, {concurrency} at once at most {concurrency * 20}/s"
    )
    report("latency50_per_s", slow["sent"] / slow["drain_s"])
    sample = min(n, LATENCY_BARE_SAMPLE)
    seconds, ok = bare_loop(sinks.url(slow=True), sample, text)
    note(f"latency50_bare: the bare loop, {sample} POSTs to the 50 ms sink")
    report("latency50_bare_per_s", ok / seconds)

    # 5. One million subscribers of Hà Nội, enqueued at approval.
    report_enqueue(template, tmp, config)

    # 7. Paced against the fake Telegram API.
    report_paced(template, tmp, config)

    # 8. A gateway that never answers, with a commune's SMS queued on it.
    result = hanging(template, tmp, config)
    note(
        f"hanging: {HANGING_N} SMS queued on a gateway that never answers ({result['hung']}"
        " requests hung at it); a Telegram warning approved meanwhile, then a cancel of the SMS"
    )
    report("hanging_first_telegram_s", result["first_s"])
    report("hanging_cancel_claimed_s", result["cancel_s"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
