"""The SMS client against the fake eSMS gateway, over real HTTP on loopback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Reaction
from alerts.channels import sms
from alerts.render import Rendering
from alerts.render import RenderSettings
from alerts.render import sms as render_sms
from tests.fakes import esms as fake_esms
from tests.render_samples import sample_cancel
from tests.render_samples import sample_message
from tests.render_samples import sample_update

PHONE = "+84901888484"
SECRET = fake_esms.SECRET_KEY


def account(fake, **secrets) -> Account:
    return Account(
        id=2,
        channel="sms",
        base_url=f"{fake.url}/esms",
        settings={"brandname": "CONGAN_DEMO"},
        secrets={"api_key": fake_esms.API_KEY, "secret_key": fake_esms.SECRET_KEY, **secrets},
    )


def item(content: str = "CA PHUONG: Canh bao lua dao. Goi 113.", target: str = PHONE, key=None):
    rendering = Rendering("sms", "text/plain", {"text": content})
    return Item(key or f"7-1-sms-{target}", target, rendering)


def bodies(fake) -> list[dict]:
    return [r.json for r in fake.state.recorded("esms")]


async def test_it_posts_the_esms_request_shape(fake_channels, http):
    rendering = render_sms.render(sample_message(), RenderSettings())
    outcome = await sms.send(http, account(fake_channels), Item("7-1-sms-42", PHONE, rendering))
    assert outcome.reaction == Reaction.OK and outcome.detail == "CodeResult 100: accepted"
    assert outcome.provider_id == fake_channels.state.extra["esms_sent"][0]["sms_id"]
    (request,) = fake_channels.state.recorded("esms")
    assert request.method == "POST"
    assert request.path == "/esms/MainService.svc/json/SendMultipleMessage_V4_post_json/"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "ApiKey": fake_esms.API_KEY,
        "SecretKey": fake_esms.SECRET_KEY,
        "Phone": "0901888484",
        "Content": rendering.parts["text"],
        "Brandname": "CONGAN_DEMO",
        "SmsType": "2",
        "IsUnicode": "0",
        "Sandbox": "0",
        "RequestId": "7-1-sms-42",
    }


@pytest.mark.parametrize("message", [sample_message(), sample_update(), sample_cancel()])
async def test_the_fake_accepts_every_sms_rendering(fake_channels, http, message):
    rendering = render_sms.render(message, RenderSettings())
    outcome = await sms.send(http, account(fake_channels), Item("k", PHONE, rendering))
    assert outcome.reaction == Reaction.OK, outcome.detail


async def test_a_callback_url_and_the_sms_type_come_from_the_settings(fake_channels, http):
    settings = {"brandname": "CONGAN_DEMO", "callback_url": "https://x.vn/hooks/esms"}
    outcome = await sms.send(http, replace(account(fake_channels), settings=settings), item())
    assert outcome.reaction == Reaction.OK
    assert bodies(fake_channels)[0]["CallbackUrl"] == "https://x.vn/hooks/esms"


async def test_a_resend_with_the_same_request_id_is_taken_as_already_sent(fake_channels, http):
    first = await sms.send(http, account(fake_channels), item())
    again = await sms.send(http, account(fake_channels), item())
    assert first.reaction == again.reaction == Reaction.OK
    assert again.detail.startswith("CodeResult 124") and again.provider_id is None
    assert len(fake_channels.state.extra["esms_sent"]) == 1


async def test_a_long_idempotency_key_becomes_a_stable_50_character_request_id(fake_channels, http):
    key = "alert-7-revision-1-channel-sms-subscriber-" + "9" * 40
    await sms.send(http, account(fake_channels), item(key=key))
    await sms.send(http, account(fake_channels), item(key=key))
    first, second = (body["RequestId"] for body in bodies(fake_channels))
    assert first == second and len(first) == 50


async def test_a_broadcast_is_refused_without_a_request(fake_channels, http):
    outcome = await sms.send(http, account(fake_channels), item(target="broadcast"))
    assert outcome.reaction == Reaction.GIVE_UP
    assert fake_channels.state.recorded("esms") == []


@pytest.mark.parametrize(
    "target, phone",
    [("+84901888484", "0901888484"), ("84351234567", "0351234567"), ("0987654321", "0987654321")],
)
def test_phones_are_sent_in_the_national_form(target, phone):
    assert sms.national_number(target) == phone


@pytest.mark.parametrize("target", ["+8490188848", "+84 1234 567 890", "+14155550100", "abc"])
async def test_a_number_that_is_not_vietnamese_disables_the_subscriber(fake_channels, http, target):
    outcome = await sms.send(http, account(fake_channels), item(target=target))
    assert outcome.reaction == Reaction.DISABLE_SUBSCRIBER
    assert fake_channels.state.recorded("esms") == []


@pytest.mark.parametrize(
    "code, reaction",
    [
        ("100", Reaction.OK),
        ("124", Reaction.OK),
        ("99", Reaction.DISABLE_SUBSCRIBER),
        ("108", Reaction.DISABLE_SUBSCRIBER),
        ("101", Reaction.DISABLE_CHANNEL),
        ("102", Reaction.DISABLE_CHANNEL),
        ("103", Reaction.DISABLE_CHANNEL),
        ("104", Reaction.DISABLE_CHANNEL),
        ("140", Reaction.DISABLE_CHANNEL),
        ("146", Reaction.GIVE_UP),
        ("177", Reaction.GIVE_UP),
        ("118", Reaction.GIVE_UP),
    ],
)
async def test_every_code_result_maps_as_the_docs_say(fake_channels, http, code, reaction):
    fake_channels.state.fail("esms", kind="code", code=code)
    outcome = await sms.send(http, account(fake_channels), item())
    assert outcome.reaction == reaction and outcome.detail.startswith(f"CodeResult {code}")
    assert outcome.status_code == 200


@pytest.mark.parametrize(
    "secret_key, brandname, target, content, code, reaction",
    [
        ("WRONG", "CONGAN_DEMO", PHONE, "Canh bao", "101", Reaction.DISABLE_CHANNEL),
        (SECRET, "UNKNOWN", PHONE, "Canh bao", "104", Reaction.DISABLE_CHANNEL),
        (SECRET, "CONGAN_DEMO", "+84123456789", "x", "108", Reaction.DISABLE_SUBSCRIBER),
        (SECRET, "CONGAN_DEMO", PHONE, "Cảnh báo lừa đảo", "146", Reaction.GIVE_UP),
    ],
)
async def test_the_fake_checks_keys_brandname_phone_and_gsm7_content(
    fake_channels, http, secret_key, brandname, target, content, code, reaction
):
    unit = replace(account(fake_channels, secret_key=secret_key), settings={"brandname": brandname})
    outcome = await sms.send(http, unit, item(content, target))
    assert outcome.reaction == reaction and outcome.detail.startswith(f"CodeResult {code}")


async def test_a_number_blocked_on_the_gateway_disables_the_subscriber(fake_channels, http):
    fake_channels.state.extra["esms_blocked"] = {"0901888484"}
    outcome = await sms.send(http, account(fake_channels), item())
    assert outcome.reaction == Reaction.DISABLE_SUBSCRIBER
    assert outcome.detail.startswith("CodeResult 99:")


async def test_a_malformed_request_gets_the_invalid_request_shape_and_is_given_up(
    fake_channels, http
):
    url = f"{fake_channels.url}/esms{fake_esms.PATH}"
    response = await http.post(
        url, content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json() == {"error": "Invalid request"}
    fake_channels.state.fail("esms", kind="invalid")
    outcome = await sms.send(http, account(fake_channels), item())
    assert outcome.reaction == Reaction.GIVE_UP and "Invalid request" in outcome.detail


async def test_the_optional_rate_limit_answers_429_with_retry_after(fake_channels, http):
    fake_channels.state.limits["esms"] = 2
    outcomes = [await sms.send(http, account(fake_channels), item(key=f"k{n}")) for n in range(3)]
    assert [o.reaction for o in outcomes[:2]] == [Reaction.OK, Reaction.OK]
    assert outcomes[2].reaction == Reaction.RETRY_AFTER and outcomes[2].retry_after == 1.0


async def test_missing_keys_disable_the_channel_without_a_request(fake_channels, http):
    outcome = await sms.send(http, account(fake_channels, api_key=""), item())
    assert outcome.reaction == Reaction.DISABLE_CHANNEL
    assert fake_channels.state.recorded("esms") == []


async def test_the_keys_never_appear_in_an_outcome(fake_channels, http):
    fake_channels.state.fail(
        "esms", kind="code", code="101", message=f"bad key {fake_esms.API_KEY}"
    )
    outcome = await sms.send(http, account(fake_channels), item())
    assert outcome.reaction == Reaction.DISABLE_CHANNEL
    assert fake_esms.API_KEY not in repr(outcome) and fake_esms.SECRET_KEY not in repr(outcome)
    assert fake_esms.SECRET_KEY not in repr(account(fake_channels))
