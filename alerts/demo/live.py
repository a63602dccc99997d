"""What the demo does once the web app and the fake servers run (``scripts/run`` starts it
between the web app and the worker): point the fake Zalo OA at our webhook, so receipts
flow, and have the demo residents report by chat once. Run as
``python -m alerts.demo.live``; it reads the same settings as ``flask --app alerts``.
"""

from __future__ import annotations

import sys
import time

import httpx

from alerts import create_app
from alerts.db import get_db
from alerts.demo import phones
from alerts.demo import reports

WAIT = 30.0  # seconds the web app may take to answer


def _serving(url: str, wait: float = WAIT) -> bool:
    """Whether our web app answers /healthz within ``wait`` seconds."""
    until = time.monotonic() + wait
    while time.monotonic() < until:
        try:
            httpx.get(f"{url}/healthz", timeout=2.0)
            return True
        except httpx.TransportError:
            time.sleep(0.3)
    return False


def main() -> int:
    """Connect the fakes and send the chat reports; 1 if the web app or the fakes are not
    there (the demo still runs, without receipts)."""
    app = create_app()
    if app.config["ENV"] == "production":
        print("The demo is refused in production.", file=sys.stderr)
        return 1
    with app.app_context():
        if not _serving(app.config["PUBLIC_URL"].rstrip("/")):
            print("The web app did not answer: the fakes were not connected.", file=sys.stderr)
            return 1
        db, config = get_db(), app.config
        try:
            phones.connect(db, config)
            sent = reports.send_chat_reports(db, config)
        except phones.FakesUnreachable:
            print("The fake channel servers did not answer.", file=sys.stderr)
            return 1
    print(f"Fake Zalo OA connected to our webhook; chat reports sent: {sent}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
