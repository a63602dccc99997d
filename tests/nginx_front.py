"""config/nginx.conf.example run as it ships, with only its "site:" lines pointed at a
temporary directory, a loopback port and an app (issue 17). One place for that
substitution: tests/test_nginx_cache.py checks the front's behaviour with it and
scripts/scale_bench.py measures pages through it."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "nginx.conf.example"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HOST = "127.0.0.1"  # where it listens: the public host of its cache keys


def config(tmp: Path, upstream: str, port: int) -> str:
    """Return the example with its "site:" lines pointed at these places."""
    text = EXAMPLE.read_text(encoding="utf-8")
    replaced = {
        "/var/cache/nginx/alerts": str(tmp / "cache"),
        "server 127.0.0.1:5000;": f"server {upstream};",
        "listen 8080;": f"listen {HOST}:{port};",
        "/srv/alerts/alerts/static/": f"{ROOT / 'alerts' / 'static'}/",
        '"httpscanhbao.bocongan.gov.vn$alerts_refreshed|"': f'"http{HOST}$alerts_refreshed|"',
        "http {\n": f"http {{\n    access_log {tmp}/access.log;\n"
        f"    client_body_temp_path {tmp}/body;\n    proxy_temp_path {tmp}/proxy;\n",
    }
    for old, new in replaced.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def start(tmp: Path, upstream: str, port: int, *, measured: bool = False) -> subprocess.Popen:
    """Check and start nginx in the foreground in ``tmp`` in front of ``upstream``; return
    the process once it serves (the caller terminates it).

    A test runs it as one process with an access log. ``measured``, it runs as configured
    (a master and ``worker_processes auto``, which as root serve as nobody: ``tmp`` must
    let them in) without one, as a benchmark needs.
    """
    text = config(tmp, upstream, port)
    if measured:
        text = text.replace(f"access_log {tmp}/access.log;", "access_log off;")
    conf = tmp / "nginx.conf"
    conf.write_text(text)
    directives = f"daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;"
    if not measured:
        directives += " master_process off;"
    argv = [NGINX, "-p", str(tmp), "-c", str(conf), "-g", directives]
    check = subprocess.run([*argv[:-2], "-t", *argv[-2:]], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(check.stderr)
    server = subprocess.Popen(argv)
    for _ in range(200):
        try:
            httpx.get(f"http://{HOST}:{port}/static/portal.js", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError(f"nginx did not answer on {HOST}:{port}")
