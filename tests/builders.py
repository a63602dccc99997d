"""Warnings at each stage of their life, built the way an officer builds them, at three levels:
the domain (``workflow`` calls on a real database), the REST API (``api_*``: a Flask test
client and the ``auth`` fixture's tokens) and the admin pages (``ui_*``: forms with CSRF).

Every test module builds its warnings here, so that a change to what a valid submission is
reaches them all at once."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts.clock import utcnow
from alerts.store import warnings as store
from alerts.warnings import workflow
from alerts.warnings.models import Alert
from tests.conftest import acting_as
from tests.conftest import csrf_token
from tests.conftest import post_form
from tests.conftest import sign_in

DATA = Path(__file__).parent / "data"
CONFIG = {
    "ENV": "testing",
    "OFFICIAL_DOMAINS": ("bocongan.gov.vn", "gov.vn"),
    "PUBLIC_URL": "https://canhbao.bocongan.gov.vn",
    "SMS_MAX_SEGMENTS": 2,
    "REPORT_SIGNAL_MIN": 3,
    "STAFF_REMIND_AFTER_MINUTES": 60,
    # A fixed test key (base64 of 32 bytes): never used outside the tests.
    "SIGNING_KEY": "dGVzdC1rZXktMzItYnl0ZXMtZm9yLWVkMjU1MTkhISE=",
    "DATABASE": "",
    # A fixed test key for channel credentials (Fernet): never used outside the tests.
    "DATA_KEY": "4LDbnH3HjbPA7q5MN9-drDRB3Q10vuXuByqsf8E6tKg=",
    # A fixed test RSA key and self-signed certificate for CAP documents (tests/data).
    "CAP_SIGNING_KEY": str(DATA / "cap-signing-test-key.pem"),
    "CAP_SIGNING_CERT": str(DATA / "cap-signing-test-cert.pem"),
}
VN = ZoneInfo("Asia/Ho_Chi_Minh")


# The domain: workflow calls as the signed-in officer and approver would make them.


def draft(**changes) -> dict:
    """A valid submission for Phường Hoàn Kiếm (00070), as the API takes it."""
    return {
        "headline": "Cảnh báo cuộc gọi giả danh công an yêu cầu cung cấp mã OTP",
        "description": "Đối tượng gọi điện tự xưng cán bộ công an phường, đề nghị đọc mã OTP.",
        "instruction": "Không cung cấp mã OTP cho bất kỳ ai. Gọi 113 khi nghi ngờ.",
        "warning_type": "scam_phone",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "regions": ["00070"],
        "channels": ["sms", "zalo"],
        "expires_at": (utcnow() + timedelta(days=7)).isoformat(),
        "indicators": {
            "phones": ["0912 345 678"],
            "accounts": [],
            "links": ["hxxp://vneid-capnhat[.]com/x"],
        },
        **changes,
    }


def create(db, username="hoankiem.canbo", config=CONFIG, **changes) -> int:
    """Create a draft as ``username``; return its id."""
    return workflow.create(db, acting_as(db, username), draft(**changes), config=config)


def submitted(db, username="hoankiem.canbo", config=CONFIG, **changes) -> int:
    """Create and submit a draft as ``username``; return its id."""
    alert_id = create(db, username, config, **changes)
    workflow.submit(db, acting_as(db, username), alert_id, config=config)
    return alert_id


def approve(db, username: str, alert_id: int, config=CONFIG) -> Alert:
    """Approve the warning as ``username``, having seen its current content."""
    alert = store.get_alert(db, alert_id)
    return workflow.approve(
        db, acting_as(db, username), alert_id, seen_hash=alert.content_hash, config=config
    )


def published(db, officer="hoankiem.canbo", approver="hanoi.duyet", **changes) -> Alert:
    """Draft, submit and approve a warning (published at once); return the revision."""
    return approve(db, approver, submitted(db, officer, **changes))


# The REST API: the same steps over HTTP, each answer checked before the next step.


def api_create(client, auth, username="hoankiem.canbo", **changes) -> dict:
    response = client.post("/api/v1/alerts", json=draft(**changes), headers=auth(username))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def api_act(client, auth, username: str, alert_id: int, action: str, body=None):
    path = f"/api/v1/alerts/{alert_id}/{action}"
    return client.post(path, json=body, headers=auth(username))


def api_submitted(client, auth, username="hoankiem.canbo", **changes) -> dict:
    alert = api_create(client, auth, username, **changes)
    response = api_act(client, auth, username, alert["id"], "submit")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def api_approve(client, auth, username: str, alert: dict):
    return api_act(
        client, auth, username, alert["id"], "approve", {"content_hash": alert["content_hash"]}
    )


def api_published(client, auth, **changes) -> dict:
    response = api_approve(client, auth, "hanoi.duyet", api_submitted(client, auth, **changes))
    assert response.json["status"] == "published"
    return response.json


# The admin pages: the form an officer fills in, posted with its CSRF token.


def local(delta: timedelta) -> str:
    """A datetime-local value (Vietnam time), as the browser sends it."""
    return (datetime.now(VN) + delta).strftime("%Y-%m-%dT%H:%M")


def ui_form(**changes) -> dict:
    """A valid new-warning form for Phường Hoàn Kiếm, as the browser posts it."""
    return {
        "headline": "Cảnh báo cuộc gọi giả danh công an phường Hoàn Kiếm",
        "description": "Đối tượng gọi điện tự xưng công an, yêu cầu đọc mã OTP.",
        "instruction": "Không cung cấp mã OTP. Gọi 113 khi nghi ngờ.",
        "warning_type": "scam_phone",
        "category": "Security",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Observed",
        "mode": "Actual",
        "regions": "00070",
        "channels": ["sms", "zalo"],
        "publish_at": "",
        "expires_at": local(timedelta(days=3)),
        "phones": "0912 345 678\n+84 91 234 5678",
        "accounts": "Vietcombank 0123 456 789",
        "links": "hxxps://vneid-capnhat[.]com/login",
        **changes,
    }


def ui_draft(client, username="hoankiem.canbo", **changes) -> int:
    """Sign in as ``username`` and save a new draft through the form; return its id."""
    sign_in(client, username)
    response = post_form(client, "/admin/warnings/new", ui_form(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def ui_act(client, alert_id: int, action: str, **data):
    page = f"/admin/warnings/{alert_id}"
    return client.post(f"{page}/{action}", data={"csrf_token": csrf_token(client, page), **data})


def ui_submitted(client, **changes) -> int:
    alert_id = ui_draft(client, **changes)
    assert ui_act(client, alert_id, "submit").status_code == 303
    return alert_id


def ui_approve(client, db, alert_id: int, **extra):
    content_hash = store.get_alert(db, alert_id).content_hash
    return ui_act(client, alert_id, "approve", content_hash=content_hash, confirm="y", **extra)
