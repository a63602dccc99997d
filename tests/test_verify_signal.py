"""The lookup's three answers (issue 16): in a signed police warning, confirmed by police
from residents' reports, and "reported by N residents in M communes in the last 30 days,
not yet confirmed", shown only from ALERTS_REPORT_SIGNAL_MIN distinct reporters (never one
alone), counted by reporter, withdrawn and dismissed reports left out, nobody named."""

from __future__ import annotations

import pytest

from alerts import config as settings
from alerts.reports import filing
from alerts.reports import inbox
from alerts.residents import verify
from tests.conftest import acting_as
from tests.conftest import post_form
from tests.report_builders import other_commune
from tests.test_verify import page
from tests.test_verify import web  # noqa: F401 (a fixture)

PHONE = "0987 654 321"


@pytest.fixture
def config(app):
    return app.config


def report(db, config, reporter: str, region="00070", phone=PHONE, **changes):
    """File a report from a Zalo chat of ``reporter`` naming a scam phone number."""
    given = {
        "channel": "zalo",
        "kind": "scam_call",
        "region_code": region,
        "text": "Có người gọi tự xưng công an, đòi chuyển tiền.",
        "indicators": {"phones": [phone]},
        "contact": reporter,
        **changes,
    }
    return filing.file_report(db, config, **given)


def test_below_the_threshold_nothing_is_shown(db, config):
    report(db, config, "4418000000000001")
    report(db, config, "4418000000000002")
    found = verify.lookup(db, PHONE, config)
    assert found.signal is None and found.confirmed == () and found.hits == ()


def test_three_residents_in_two_communes(db, config):
    elsewhere = other_commune(db)
    report(db, config, "4418000000000001")
    report(db, config, "4418000000000002")
    report(db, config, "4418000000000003", region=elsewhere)
    signal = verify.lookup(db, "+84987654321", config).signal
    assert (signal.residents, signal.communes) == (3, 2)


def test_the_same_resident_three_times_counts_once(db, config):
    for _ in range(3):
        report(db, config, "4418000000000001")
    assert verify.lookup(db, PHONE, config).signal is None
    report(db, config, "4418000000000002")
    report(db, config, "4418000000000003")
    assert verify.lookup(db, PHONE, config).signal.residents == 3


def test_withdrawn_and_dismissed_reports_do_not_count(db, config):
    report(db, config, "4418000000000001")
    report(db, config, "4418000000000002")
    withdrawn = report(db, config, "4418000000000003")
    filing.withdraw(db, withdrawn.code)
    assert verify.lookup(db, PHONE, config).signal is None
    dismissed = report(db, config, "4418000000000004")
    officer = acting_as(db, "hoankiem.canbo")
    inbox.move(db, config, officer, dismissed.code, "dismiss", reason="Không có căn cứ.")
    assert verify.lookup(db, PHONE, config).signal is None


def test_a_confirmed_report_is_its_own_answer_naming_the_unit(db, config):
    filed = report(db, config, "4418000000000001")
    inbox.move(db, config, acting_as(db, "hoankiem.canbo"), filed.code, "confirm")
    found = verify.lookup(db, PHONE, config)
    (unit,) = found.confirmed
    assert unit.unit == "Công an phường Hoàn Kiếm" and unit.reports == 1
    assert found.signal is None


def test_the_threshold_is_a_setting_never_below_two():
    assert settings.parse_settings({})["REPORT_SIGNAL_MIN"] == 3
    assert settings.parse_settings({"REPORT_SIGNAL_MIN": "5"})["REPORT_SIGNAL_MIN"] == 5
    for bad in ("1", "0", "-3", "many"):
        with pytest.raises(settings.ConfigError, match="ALERTS_REPORT_SIGNAL_MIN"):
            settings.parse_settings({"REPORT_SIGNAL_MIN": bad})


def test_the_page_shows_the_answers_apart_and_names_nobody(web, db):  # noqa: F811
    app, client = web
    elsewhere = other_commune(db)
    for reporter, region in (("4418000000000001", "00070"), ("4418000000000002", elsewhere)):
        report(db, app.config, reporter, region)
    report(db, app.config, "4418000000000003", region="00070")
    html = page(post_form(client, "/verify/lookup", {"value": PHONE}, "/verify"))
    assert "Reported by 3 residents in 2 communes in the last 30 days, not yet confirmed" in html
    assert "Not found in police warnings" not in html
    assert "4418000000000001" not in html and "Có người gọi" not in html
