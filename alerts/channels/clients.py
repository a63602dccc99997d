"""The client module of every channel declared in ``alerts.channels.CHANNELS``, imported
explicitly (no ``importlib``): a missing client fails at import, not at the first send."""

from __future__ import annotations

from types import ModuleType

from alerts.channels import email
from alerts.channels import facebook
from alerts.channels import sms
from alerts.channels import telegram
from alerts.channels import webhook
from alerts.channels import zalo

CLIENTS: dict[str, ModuleType] = {
    m.CHANNEL: m for m in (zalo, facebook, telegram, sms, email, webhook)
}


def client_for(channel: str) -> ModuleType:
    """Return a channel's client module."""
    return CLIENTS[channel]
