"""The ministry-wide dead-letter view, "replay all for this account" (audited), and the links
from a staff warning page to its public page, CAP document and signature."""

from __future__ import annotations

import pytest

from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import csrf_token
from tests.conftest import sign_in
from tests.delivery_setup import add_accounts
from tests.delivery_setup import dispatch_once
from tests.delivery_setup import running_fakes
from tests.delivery_setup import subscribe


@pytest.fixture
def fakes():
    with running_fakes() as started:
        yield started


def _dead_on_telegram(db, fakes) -> int:
    """Publish a warning whose Telegram deliveries all die (a permanent 400); return its id."""
    add_accounts(db, CONFIG, fakes)
    subscribe(db, "telegram", "100001", "00070")
    alert_id = approve(db, "hanoi.duyet", submitted(db, channels=["telegram"])).id
    fakes.state.fail("telegram", count=2, kind="error", status=400, description="Bad Request")
    dispatch_once(db)
    return alert_id


def _statuses(db, alert_id: int) -> list[str]:
    rows = db.execute("SELECT status FROM deliveries WHERE warning_id = ?", [alert_id])
    return sorted(r[0] for r in rows)


def test_the_ministry_replays_all_dead_letters_of_an_account(client, db, fakes):
    alert_id = _dead_on_telegram(db, fakes)
    assert _statuses(db, alert_id) == ["dead", "dead"]
    sign_in(client, "bo.duyet")
    page = client.get("/admin/dead-letters")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('data-testid="dead-account"') == 1
    account_id = db.execute("SELECT account_id FROM deliveries LIMIT 1").fetchone()[0]
    token = csrf_token(client, "/admin/dead-letters")
    response = client.post(f"/admin/dead-letters/{account_id}/replay", data={"csrf_token": token})
    assert response.status_code == 303
    assert _statuses(db, alert_id) == ["queued", "queued"]
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("delivery.replay") == 2 and actions[-1] == "delivery.replay_account"
    assert "Bad Request" not in client.get("/admin/dead-letters").get_data(as_text=True)


def test_dead_letters_outside_ones_jurisdiction_are_neither_shown_nor_replayed(client, db, fakes):
    alert_id = _dead_on_telegram(db, fakes)
    sign_in(client, "danang.duyet")
    assert 'data-testid="dead-account"' not in client.get("/admin/dead-letters").get_data(
        as_text=True
    )
    account_id = db.execute("SELECT account_id FROM deliveries LIMIT 1").fetchone()[0]
    token = csrf_token(client, "/admin/dead-letters")
    client.post(f"/admin/dead-letters/{account_id}/replay", data={"csrf_token": token})
    assert _statuses(db, alert_id) == ["dead", "dead"]
    officer = client.application.test_client()
    sign_in(officer, "hoankiem.canbo")
    assert officer.get("/admin/dead-letters").status_code == 403


def test_the_staff_page_links_to_the_public_page_cap_and_signature(client, db):
    alert = approve(db, "hanoi.duyet", submitted(db))
    sign_in(client, "hoankiem.canbo")
    html = client.get(f"/admin/warnings/{alert.id}").get_data(as_text=True)
    links = html.split('data-testid="public-links"')[1].split("</dd>")[0]
    for path in (f"/a/{alert.code}", f"/a/{alert.code}.cap", f"/a/{alert.code}.sig"):
        assert f'href="{path}"' in links
        assert client.get(path).status_code == 200
