"""Template blanks: the unit's name and region filled in; only real blanks block submission."""

from __future__ import annotations

import pytest

from alerts.errors import Refused
from alerts.store import warnings as store
from alerts.warnings import warning_templates
from alerts.warnings import workflow
from alerts.warnings.models import Status
from tests.builders import CONFIG
from tests.builders import create
from tests.conftest import acting_as
from tests.conftest import sign_in


def test_the_officers_own_brackets_do_not_block_submission(db):
    text = "Đối tượng gửi tin nhắn ghi [Số tài khoản] và yêu cầu vào vneid[.]com"
    alert_id = create(db, description=text)
    workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    assert store.get_alert(db, alert_id).status == Status.SUBMITTED


def test_a_template_blank_left_blocks_submission_whatever_its_case(db):
    alert_id = create(db, description="Gọi từ số [Số Điện Thoại] và [Số tài khoản]")
    with pytest.raises(Refused, match=r"blanks first: \[Số Điện Thoại\]$"):
        workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    assert store.get_alert(db, alert_id).status == Status.DRAFT


def test_a_blank_of_a_unit_template_blocks_submission_below_it(db):
    admin = acting_as(db, "bo.admin")
    fields = dict(warning_templates.builtins(db)[0].fields, description="Tại [tên chợ] có kẻ gian")
    warning_templates.create_template(db, admin, unit_code="ca-01", name="Chợ", fields=fields)
    alert_id = create(db, description="Tại [tên chợ] có kẻ gian móc túi")
    with pytest.raises(Refused, match=r"\[tên chợ\]"):
        workflow.submit(db, acting_as(db, "hoankiem.canbo"), alert_id, config=CONFIG)
    # Đà Nẵng is not offered Hà Nội's template: the same brackets are text there.
    other = create(db, "haichau.canbo", regions=["20242"], description="Tại [tên chợ] có kẻ gian")
    workflow.submit(db, acting_as(db, "haichau.canbo"), other, config=CONFIG)
    assert store.get_alert(db, other).status == Status.SUBMITTED


def test_the_units_name_and_region_are_filled_in_from_the_template(client, db):
    builtin = warning_templates.builtins(db)[0]
    assert "[tên đơn vị]" in builtin.fields["description"]
    sign_in(client, "hoankiem.canbo")
    html = client.get(f"/admin/warnings/new?template={builtin.id}").get_data(as_text=True)
    assert "[tên đơn vị]" not in html and "[địa bàn]" not in html
    assert "Công an phường Hoàn Kiếm đã tiếp nhận" in html
    assert "trên địa bàn Phường Hoàn Kiếm" in html
    assert "[số vụ]" in html  # a real blank stays for the officer
