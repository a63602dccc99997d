"""The webhook client against a newsroom's receiver (the fake) over loopback HTTP: the receiver
checks our Standard Webhooks signature with its own code, dedups on webhook-id, and answers
with each kind of failure the spec names."""

from __future__ import annotations

import base64
import json
import time

import pytest

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Reaction
from alerts.channels import webhook
from alerts.channels.http import retry_after_seconds
from alerts.channels.webhook_signing import new_secret
from alerts.channels.webhook_signing import sign_headers
from alerts.channels.webhook_signing import verify
from alerts.render import RenderSettings
from alerts.render.webhook import render
from tests.channel_helpers import http_client
from tests.fakes import hooks
from tests.render_samples import sample_message

KEY = "w7-Alert-webhook-4-broadcast"
SECRET = new_secret()
OLD_SECRET = new_secret()


@pytest.fixture
def receiver(fake_channels):
    """The fake servers, with the newsroom's endpoint registered on the webhook receiver."""
    hooks.register(fake_channels.state, "newsroom", SECRET)
    return fake_channels


def account(receiver, endpoint: str = "newsroom", **secrets) -> Account:
    url = f"{receiver.url}/hooks/{endpoint}"
    return Account(4, "webhook", "", {"url": url}, secrets or {"secret": SECRET})


def item(key: str = KEY, target: str = "broadcast") -> Item:
    return Item(key, target, render(sample_message(), RenderSettings()))


async def test_the_receiver_accepts_our_signature(receiver, http):
    sent = item()
    outcome = await webhook.send(http, account(receiver), sent)
    assert outcome.reaction is Reaction.OK, outcome.detail
    assert outcome.status_code == 204
    assert outcome.provider_id == KEY
    (request,) = receiver.state.recorded("hooks")
    assert request.method == "POST"
    assert request.path == "/hooks/newsroom"
    assert request.body == sent.rendering.parts["json"].encode("utf-8")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == KEY
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert verify(SECRET, request.headers, request.body)  # and our own check agrees
    assert request.json["id"] == "canhbao.bocongan.gov.vn:7.1"
    assert [d["result"] for d in hooks.deliveries(receiver.state)] == ["accepted"]


def test_the_receiver_rejects_a_tampered_body(receiver, plain_http):
    body = item().rendering.parts["json"].encode("utf-8")
    headers = sign_headers(SECRET, KEY, int(time.time()), body)
    headers["content-type"] = "application/json"
    tampered = body.replace(b"K7M4XQ2P", b"K7M4XQ2Q")
    url = f"{receiver.url}/hooks/newsroom"
    assert plain_http.post(url, content=tampered, headers=headers).status_code == 401
    assert plain_http.post(url, content=body, headers=headers).status_code == 204
    assert [d["result"] for d in hooks.deliveries(receiver.state)] == ["rejected", "accepted"]


def test_the_receiver_rejects_an_old_timestamp(receiver, plain_http):
    body = b'{"type": "alert.published"}'
    headers = sign_headers(SECRET, KEY, int(time.time()) - 600, body)
    headers["content-type"] = "application/json"
    answer = plain_http.post(f"{receiver.url}/hooks/newsroom", content=body, headers=headers)
    assert answer.status_code == 401
    assert "tolerance" in answer.json()["error"]


def test_the_receivers_own_check_matches_a_known_signature():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = json.dumps({"a": "Cảnh báo"}).encode()
    headers = sign_headers(secret, "msg_1", 1767225600, body)
    assert hooks.signature_problem(secret, headers, body, 1767225600) is None
    assert hooks.signature_problem(secret, headers, body + b" ", 1767225600)
    other = "whsec_" + base64.b64encode(bytes(32)).decode()
    assert hooks.signature_problem(other, headers, body, 1767225600)


async def test_a_wrong_secret_is_refused_and_not_resent(receiver, http):
    outcome = await webhook.send(http, account(receiver, secret=new_secret()), item())
    assert outcome.reaction is Reaction.GIVE_UP
    assert outcome.status_code == 401


async def test_a_resend_with_the_same_key_is_deduplicated(receiver, http):
    first = await webhook.send(http, account(receiver), item())
    again = await webhook.send(http, account(receiver), item())
    other = await webhook.send(http, account(receiver), item("w7-Update-webhook-4-broadcast"))
    assert (first.status_code, again.status_code, other.status_code) == (204, 200, 204)
    assert all(o.reaction is Reaction.OK for o in (first, again, other))
    results = [(d["id"], d["result"]) for d in hooks.deliveries(receiver.state)]
    assert results == [
        (KEY, "accepted"),
        (KEY, "duplicate"),
        ("w7-Update-webhook-4-broadcast", "accepted"),
    ]


async def test_a_rotated_secret_still_reaches_a_receiver_knowing_only_the_previous_one(
    receiver, http
):
    hooks.register(receiver.state, "slow-partner", OLD_SECRET)
    rotating = {"secret": SECRET, "previous_secret": OLD_SECRET}
    outcome = await webhook.send(http, account(receiver, "slow-partner", **rotating), item())
    assert outcome.reaction is Reaction.OK, outcome.detail
    (request,) = receiver.state.recorded("hooks")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    without = await webhook.send(http, account(receiver, "slow-partner"), item("w8-Alert"))
    assert without.reaction is Reaction.GIVE_UP


async def test_gone_disables_the_endpoint(receiver, http):
    receiver.state.fail("hooks", kind="gone")
    outcome = await webhook.send(http, account(receiver), item())
    assert outcome.reaction is Reaction.DISABLE_CHANNEL
    assert outcome.status_code == 410


@pytest.mark.parametrize(
    ("failure", "reaction", "wait"),
    [
        ({"status": 408}, Reaction.RETRY_BACKOFF, None),
        ({"status": 400}, Reaction.GIVE_UP, None),
        ({"status": 413}, Reaction.GIVE_UP, None),
        (
            {"status": 301, "location": "https://elsewhere.example/hook"},
            Reaction.DISABLE_CHANNEL,
            None,
        ),
    ],
)
async def test_each_failure_is_classified(receiver, http, failure, reaction, wait):
    receiver.state.fail("hooks", kind="http", **failure)
    outcome = await webhook.send(http, account(receiver), item())
    assert outcome.reaction is reaction, outcome.detail
    assert outcome.retry_after == wait
    assert outcome.status_code == failure["status"]
    assert "elsewhere" not in outcome.detail


def test_a_retry_after_date_is_read():
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    assert 100 < retry_after_seconds(later) <= 120
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_a_read_timeout_is_unknown_and_the_resend_is_deduplicated(receiver, http):
    receiver.state.fail("hooks", kind="hang", seconds=0.5)
    async with http_client(0.1) as impatient:
        outcome = await webhook.send(impatient, account(receiver), item())
    assert outcome.reaction is Reaction.UNKNOWN
    assert "dedups on webhook-id" in outcome.detail
    resent = await webhook.send(http, account(receiver), item())
    assert resent.reaction is Reaction.OK
    # Whichever of the two the receiver finished first, it processed the alert once.
    accepted = [d for d in hooks.deliveries(receiver.state) if d["result"] == "accepted"]
    assert len(accepted) == 1


@pytest.mark.parametrize(
    ("secrets", "url"),
    [
        ({}, "http://127.0.0.1:9/hooks/x"),
        ({"secret": "whsec_short"}, "http://127.0.0.1:9/hooks/x"),
        ({"secret": SECRET}, ""),
        ({"secret": SECRET}, "ftp://127.0.0.1/hooks/x"),
    ],
)
async def test_a_misconfigured_endpoint_disables_the_channel(http, secrets, url):
    broken = Account(4, "webhook", "", {"url": url}, secrets)
    assert (await webhook.send(http, broken, item())).reaction is Reaction.DISABLE_CHANNEL


async def test_residents_are_refused(receiver, http):
    outcome = await webhook.send(http, account(receiver), item(target="an.nguyen@example.vn"))
    assert outcome.reaction is Reaction.GIVE_UP
    assert receiver.state.recorded("hooks") == []
