"""Every channel declared in ``alerts.channels.CHANNELS`` has all its parts, and nothing
else claims to be a channel: a new channel added in one place only fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from alerts.channels import CHANNELS
from alerts.channels.clients import CLIENTS
from alerts.channels.clients import client_for
from alerts.delivery.policy import POLICIES
from alerts.render import registry

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list(CHANNELS))
def test_each_channel_has_its_client_renderer_template_policy_and_readme_row(name):
    spec = CHANNELS[name]
    client = client_for(name)
    assert client.CHANNEL == name and inspect.iscoroutinefunction(client.send)
    assert spec.refreshes == hasattr(client, "refresh") == hasattr(client, "needs_refresh")
    assert registry.RENDERERS[name].__module__ == f"alerts.render.{name}"
    assert list((ROOT / "templates" / "channels").glob(f"{name}*")), f"no template for {name}"
    assert name in POLICIES
    row = re.search(rf"^\| `{name}` \|.*$", README, re.M)
    assert row and f"alerts/channels/{name}.py" in row.group(0), f"no README row for {name}"
    assert (" yes " in row.group(0).split("|")[3]) == bool(spec.residents)


def test_nothing_outside_the_table_is_a_channel():
    modules = {p.stem for p in (ROOT / "alerts" / "channels").glob("*.py")}
    helpers = {"__init__", "clients", "http", "webhook_signing"}
    assert modules - helpers == set(CLIENTS) == set(CHANNELS)
    assert set(POLICIES) == set(CHANNELS)
    assert set(registry.RENDERERS) - set(registry.ALWAYS) == set(CHANNELS)


def test_the_residents_list_puts_sms_first_and_is_numbered_without_gaps():
    places = sorted(s.residents for s in CHANNELS.values() if s.residents)
    assert places == list(range(1, len(places) + 1))
    assert min(CHANNELS.values(), key=lambda s: s.residents or 99).name == "sms"
