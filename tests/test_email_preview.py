"""The approval screen's email preview (issue 18): the email as it goes out, in a sandboxed
frame loaded from its own route, whose policy applies the email's inline styles that the
admin's CSP blocks; only those who may see the warning get it."""

from __future__ import annotations

import pytest

from tests.browser_fixtures import sign_in_browser
from tests.builders import submitted
from tests.conftest import sign_in


def preview_url(alert_id: int) -> str:
    return f"/admin/warnings/{alert_id}/preview/email.html"


def test_the_preview_has_its_own_sandboxed_policy(client, db):
    alert_id = submitted(db, channels=["email", "sms"])
    sign_in(client, "hanoi.duyet")
    response = client.get(preview_url(alert_id))
    assert response.status_code == 200
    policy = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert policy[0] == "sandbox" and "style-src 'unsafe-inline'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.get_data(as_text=True)
    assert 'style="margin:0;padding:0;background:#f3f4f6;"' in html
    assert "Cảnh báo cuộc gọi giả danh công an" in html
    page = client.get(f"/admin/warnings/{alert_id}").get_data(as_text=True)
    assert (
        f'<iframe class="frame mail" sandbox title="Email" src="{preview_url(alert_id)}">' in page
    )
    # The admin's own pages keep the strict policy.
    shown = client.get(f"/admin/warnings/{alert_id}")
    assert "style-src 'self'" in shown.headers["Content-Security-Policy"]
    assert shown.headers["X-Frame-Options"] == "DENY"


def test_no_preview_outside_ones_jurisdiction_or_without_email(app, client, db):
    alert_id = submitted(db, channels=["email"])
    sms_only = submitted(db, channels=["sms"])
    assert client.get(preview_url(alert_id)).status_code in (302, 401)  # signed out
    sign_in(client, "danang.duyet")
    assert client.get(preview_url(alert_id)).status_code == 404
    approver = app.test_client()
    sign_in(approver, "hanoi.duyet")
    assert approver.get(preview_url(sms_only)).status_code == 404


@pytest.mark.browser
def test_the_email_shows_styled_in_the_browser(browser, live_server, db):
    alert_id = submitted(db, channels=["email"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    sign_in_browser(page, live_server, "hanoi.duyet")
    page.goto(f"{live_server}/admin/warnings/{alert_id}")
    frame = page.frame_locator("iframe.mail")
    background = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    context.close()
    assert background == "rgb(243, 244, 246)"  # the email's own inline style
    assert not [text for text in refused if "style" in text]
