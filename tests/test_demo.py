"""The demo: its channel accounts carry exactly the credentials the fake servers accept,
a published warning reaches every demo resident through the fakes, and the "resident
phone" page shows what each one received."""

from __future__ import annotations

from alerts.delivery.engine import Dispatcher
from alerts.demo import channels as demo_channels
from tests.builders import CONFIG
from tests.builders import approve
from tests.builders import submitted
from tests.conftest import sign_in
from tests.delivery_setup import WEBHOOK_SECRET
from tests.delivery_setup import running_fakes
from tests.fakes import esms
from tests.fakes import graph
from tests.fakes import telegram
from tests.fakes import zalo


def test_demo_credentials_are_the_fakes_own():
    assert demo_channels.TELEGRAM_TOKEN == telegram.TOKEN
    assert demo_channels.ZALO["access_token"] == zalo.ACCESS_TOKEN
    assert demo_channels.ZALO["refresh_token"] == zalo.REFRESH_TOKEN
    assert demo_channels.ZALO["secret_key"] == zalo.SECRET_KEY
    assert demo_channels.ZALO_APP_ID == zalo.APP_ID
    assert (demo_channels.FACEBOOK_PAGE, demo_channels.FACEBOOK_TOKEN) == (
        graph.PAGE_ID,
        graph.PAGE_TOKEN,
    )
    assert demo_channels.ESMS == {"api_key": esms.API_KEY, "secret_key": esms.SECRET_KEY}
    assert demo_channels.ESMS_BRANDNAME in esms.BRANDNAMES
    assert demo_channels.ESMS_CPID == esms.CPID
    assert demo_channels.ESMS_CALLBACK["mo_private_key"] == esms.PRIVATE_KEY
    assert demo_channels.WEBHOOK_SECRET == WEBHOOK_SECRET


def test_a_warning_reaches_every_demo_resident_and_shows_on_their_phone(client, db):
    with running_fakes() as fakes:
        assert demo_channels.seed(db, CONFIG, fakes.url, fakes.smtp_port) == 8
        assert demo_channels.seed(db, CONFIG, fakes.url, fakes.smtp_port) == 0  # idempotent
        channels = ["sms", "email", "telegram", "zalo", "facebook", "webhook"]
        alert = approve(db, "hanoi.duyet", submitted(db, channels=channels))
        dispatcher = Dispatcher(CONFIG)
        try:
            dispatcher.dispatch_due(db)
        finally:
            dispatcher.close()
        statuses = db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE warning_id = ? GROUP BY status",
            [alert.id],
        ).fetchall()
        assert statuses == [("sent", 9)]  # 6 residents, Telegram channel, Page, newsroom
    sign_in(client, "hanoi.duyet")
    page = client.get("/admin/demo/phones").get_data(as_text=True)
    assert f"{alert.code[:4]}-{alert.code[4:]}" in page and "+84900000001" in page
    assert 'class="bubble sms"' in page


def test_demo_warnings_cover_every_state_once(db):
    from alerts.demo import warnings as demo_warnings

    assert demo_warnings.seed(db, CONFIG) == 6
    assert demo_warnings.seed(db, CONFIG) == 0
    found = db.execute(
        "SELECT status, mode, msg_type, superseded_by IS NOT NULL FROM warnings ORDER BY id"
    ).fetchall()
    assert ("published", "Actual", "Update", 0) in found  # the newest Hoàn Kiếm revision
    assert ("published", "Actual", "Alert", 1) in found  # ... which replaced the first
    assert ("cancelled", "Actual", "Alert", 0) in found
    assert ("published", "Exercise", "Alert", 0) in found
    assert sum(1 for f in found if f[0] == "published") == 5
    signed = db.execute("SELECT COUNT(*) FROM signatures").fetchone()[0]
    assert signed == 7  # six publications and one cancellation
