"""The seeded Hà Nội the reach tests share: accounts on the fakes, residents in three
communes, and around them the residents who must never be counted."""

from __future__ import annotations

from alerts.clock import to_text
from alerts.clock import utcnow
from alerts.db import write
from tests.builders import CONFIG
from tests.builders import submitted
from tests.delivery_setup import add_accounts
from tests.delivery_setup import subscribe
from tests.delivery_setup import subscribe_many

HOAN_KIEM = "00070"
HAI_CHAU = "20242"  # Đà Nẵng: outside every Hà Nội warning
CHANNELS = ["sms", "telegram", "email", "facebook"]


def seed_hanoi(db, fakes) -> list[str]:
    """Hà Nội's accounts on the fakes and its residents: SMS in three communes (3, 2, 1),
    Telegram in Hoàn Kiếm (2), email province-wide (1); around them, who must not count:
    Đà Nẵng's, the test audience's, an unsubscribed resident. Return the three communes."""
    add_accounts(db, CONFIG, fakes)
    add_accounts(db, CONFIG, fakes, test=True)
    communes = [
        r[0]
        for r in db.execute(
            "SELECT code FROM regions WHERE parent_code = '01' ORDER BY code LIMIT 3"
        )
    ]
    for i, code in enumerate(communes):
        subscribe_many(db, "sms", 3 - i, code, first=10 * i)
    subscribe(db, "telegram", "5550001", HOAN_KIEM)
    subscribe(db, "telegram", "5550002", HOAN_KIEM)
    subscribe(db, "email", "dan@example.vn", "01")
    subscribe(db, "sms", "+84935550000", HAI_CHAU)
    subscribe(db, "sms", "+84915550001", communes[0], test=True)
    gone = subscribe(db, "sms", "+84915550002", communes[0])
    with write(db):
        db.execute(
            "UPDATE subscriptions SET status = 'unsubscribed', ended_at = ? WHERE id = ?",
            [to_text(utcnow()), gone],
        )
    return communes


def province_warning(db, **changes) -> int:
    """A Hà Nội-wide warning on every channel of the fixture, submitted by the province."""
    return submitted(db, "hanoi.canbo", regions=["01"], channels=CHANNELS, **changes)
