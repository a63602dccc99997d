"""scripts/scale_bench.py stays runnable: a tiny national deployment seeded, served by
waitress alone and behind nginx's cache, and measured end to end (a smoke run, not a
measurement)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import nginx_front

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--subscribers", "4000", "--warnings", "60", "--per-warning", "10", "--audit", "300"]


def test_a_tiny_run_seeds_what_it_says_and_measures_every_page():
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "scale_bench.py"), *TINY]
        + ["--seconds", "1", "--repeats", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = dict(item.split("=", 1) for item in run.stdout.strip().splitlines()[-1].split())
    assert figures["seeded_subscriptions"] == "4000"
    assert figures["seeded_warnings"] == str(60 + 5)  # the history and the live five
    assert figures["seeded_audit_log"] != "None" and int(figures["seeded_audit_log"]) >= 300
    # The national warning reaches the 2,000 SMS subscribers; each clone its 10 SMS.
    assert int(figures["seeded_deliveries"]) >= 2_000 + 60 * 10
    for name in ("warning_app_per_s", "feed_app_per_s", "admin_p95_ms", "verify_p95_ms"):
        assert float(figures[name]) > 0, name
    if Path(nginx_front.NGINX).exists():  # through config/nginx.conf.example's cache
        for name in ("warning_nginx_per_s", "warning_nginx_p95_ms", "warning_nginx_vs_static"):
            assert float(figures[name]) > 0, name
        for page in ("region", "feed"):
            assert float(figures[f"{page}_nginx_vs_static"]) > 0, page
            assert f"{page}_nginx_p95_ms=" in run.stdout, page
    # Every request answered 200 (the static copies too), and nginx's cache held each page.
    assert "requests failed" not in run.stdout and "not a cache hit" not in run.stdout
