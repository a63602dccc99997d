"""Telling the platforms where to call us, for those that take it by API
(../shared/channels-inbound.md §2.2, §3.2): Telegram's ``setWebhook`` and the installation
of the Meta app on a Page (``POST /{page-id}/subscribed_apps``). Zalo takes its URL only in
its developer console (§1.2), and Meta the app's callback URL and verify token only in the
App Dashboard: nothing to call for those.

Each call returns None when the platform accepted it, else its reason with every secret of
the account masked (a platform may echo the bot token it was called with). Synchronous: an
operator runs it once per deployment from ``flask register-webhooks``.
"""

from __future__ import annotations

import re

import httpx

from alerts.channels import Account
from alerts.channels import facebook
from alerts.channels import telegram
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import describe
from alerts.channels.http import read_json
from alerts.channels.http import scrub

TIMEOUT = httpx.Timeout(10.0)
TELEGRAM_UPDATES = ("message", "callback_query", "my_chat_member")
# Messenger messages, buttons and receipts, and comments under the Page's posts (§2.4).
PAGE_FIELDS = ("messages", "messaging_postbacks", "message_deliveries", "message_reads", "feed")
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts as secret_token


def client() -> httpx.Client:
    """A client for these calls: explicit timeouts, no redirect followed (one could take
    the bot token's URL to another host)."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


def set_telegram_webhook(http: httpx.Client, account: Account, url: str) -> str | None:
    """Point the bot's updates at ``url`` with the account's ``webhook_secret`` as the
    secret token; pending updates are kept (a resident's /start waiting is not lost)."""
    token = account.secrets.get("bot_token", "")
    secret = account.secrets.get("webhook_secret", "")
    if not token:
        return "no bot token stored"
    if not SECRET_TOKEN.fullmatch(secret):
        return "no webhook_secret stored (1-256 characters of A-Z, a-z, 0-9, _ and -)"
    base = (account.base_url or telegram.DEFAULT_BASE_URL).rstrip("/")
    payload = {
        "url": url,
        "secret_token": secret,
        "allowed_updates": list(TELEGRAM_UPDATES),
        "drop_pending_updates": False,
    }
    try:
        response = http.post(f"{base}/bot{token}/setWebhook", json=payload)
    except SEND_ERRORS as error:
        return scrub(describe(error), account.secrets.values())
    answer = read_json(response.content)
    if isinstance(answer, dict) and answer.get("ok") is True:
        return None
    reason = answer.get("description") if isinstance(answer, dict) else None
    detail = f"HTTP {response.status_code}: {reason or 'not a Bot API answer'}"
    return scrub(detail, account.secrets.values())


def subscribe_page(http: httpx.Client, account: Account) -> str | None:
    """Install the Meta app on the account's Page for PAGE_FIELDS (with the Page token,
    sent in the form, never in the URL)."""
    page, token = account.settings.get("page_id", ""), account.secrets.get("access_token", "")
    if not page or not token:
        return "no page_id or Page access token stored"
    version = account.settings.get("version", facebook.VERSION)
    url = f"{account.base_url.rstrip('/')}/{version}/{page}/subscribed_apps"
    form = {"subscribed_fields": ",".join(PAGE_FIELDS), "access_token": token}
    try:
        response = http.post(url, data=form)
    except SEND_ERRORS as error:
        return scrub(describe(error), account.secrets.values())
    answer = read_json(response.content)
    if isinstance(answer, dict) and answer.get("success") is True:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    reason = error.get("message") if isinstance(error, dict) else "not a Graph answer"
    return scrub(f"HTTP {response.status_code}: {reason}", account.secrets.values())
