"""Facebook Page: one post on the unit's Page (``POST /{version}/{page-id}/feed``).

Only the target "broadcast" exists: residents follow the Page. The post is the rendering's
"message" with its "link" (the preview comes from the warning page's Open Graph tags), sent
form-encoded with the Page access token in the body, never in the URL.

Graph errors carry an error object, usually with HTTP 400 even when throttled
(https://developers.facebook.com/docs/graph-api/guides/error-handling); the usage headers say
how long a throttled Page must wait, in minutes
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting). A Page token cannot
be refreshed by us: 190 is classified REFRESH_TOKEN and the engine escalates. Graph has no
idempotency key, but it refuses an identical post (506): after an unknown outcome the resend
then tells us the post is already there.

Account: settings "page_id" and optional "version" (default v23.0); secret "access_token"
(the Page access token).
"""

from __future__ import annotations

import httpx

from alerts.channels import Account
from alerts.channels import Item
from alerts.channels import Outcome
from alerts.channels import Reaction
from alerts.channels.http import SEND_ERRORS
from alerts.channels.http import foreign_answer
from alerts.channels.http import post
from alerts.channels.http import read_json
from alerts.channels.http import scrub
from alerts.channels.http import told_wait
from alerts.channels.http import transport_outcome

CHANNEL = "facebook"
VERSION = "v23.0"
# Throttling: application, user, Page and Business Use Case (800xx) limits.
RATE_LIMITED = frozenset({4, 17, 32, 613, *range(80000, 80015)})
USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage", "x-page-usage")
DUPLICATE_POST = 506
LINK_FAILED = 1609005
_CODES = {
    1: Reaction.RETRY_BACKOFF,  # API Unknown
    2: Reaction.RETRY_BACKOFF,  # API Service
    3: Reaction.DISABLE_CHANNEL,  # the app lacks the capability
    10: Reaction.DISABLE_CHANNEL,  # permission denied
    100: Reaction.GIVE_UP,  # invalid parameter
    102: Reaction.REFRESH_TOKEN,  # session invalid
    104: Reaction.DISABLE_CHANNEL,  # no access token reached Graph
    190: Reaction.REFRESH_TOKEN,  # token expired or invalidated
    341: Reaction.RETRY_BACKOFF,  # application limit reached
    368: Reaction.DISABLE_CHANNEL,  # temporarily blocked for policy violations: an operator
}


async def send(http: httpx.AsyncClient, account: Account, item: Item) -> Outcome:
    """Post the rendering on the Page; a link Graph cannot read is dropped once."""
    if item.target != "broadcast":
        return Outcome(Reaction.GIVE_UP, "Facebook posts only to the unit's Page")
    if not account.settings.get("page_id"):
        return Outcome(Reaction.DISABLE_CHANNEL, "no Facebook page_id set")
    if not account.secrets.get("access_token"):
        return Outcome(Reaction.DISABLE_CHANNEL, "no Page access token stored")
    message = item.rendering.parts.get("message")
    if not message:
        return Outcome(Reaction.GIVE_UP, "the rendering has no Facebook message")
    form = {"message": message, "access_token": account.secrets["access_token"]}
    if item.rendering.parts.get("link"):
        form["link"] = item.rendering.parts["link"]
    outcome, code = await _post_feed(http, account, form)
    if code == LINK_FAILED and "link" in form:
        del form["link"]  # the text carries the link too; the preview is what is lost
        outcome, code = await _post_feed(http, account, form)
    return outcome


async def _post_feed(
    http: httpx.AsyncClient, account: Account, form: dict
) -> tuple[Outcome, int | None]:
    version = account.settings.get("version", VERSION)
    url = f"{account.base_url.rstrip('/')}/{version}/{account.settings['page_id']}/feed"
    try:
        response, raw = await post(http, url, data=form)
    except SEND_ERRORS as exc:
        return transport_outcome(exc, account.secrets.values()), None
    return _classify(response.status_code, response.headers, raw, account)


def _classify(
    status: int, headers: httpx.Headers, raw: bytes, account: Account
) -> tuple[Outcome, int | None]:
    """Classify a Graph answer: the post id, or the error object and the usage headers."""
    answer = read_json(raw)
    if 200 <= status < 300 and isinstance(answer, dict) and answer.get("id"):
        return Outcome(Reaction.OK, provider_id=str(answer["id"]), status_code=status), None
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        unexpected = "no post id or error object"
        return foreign_answer(status, headers, raw, "Graph", unexpected), None
    code = error["code"]
    detail = scrub(_error_detail(error), account.secrets.values())
    if LINK_FAILED in (code, error.get("error_subcode")):
        # "Error Posting Link" (seen as a code and as a subcode of 100): the URL could not
        # be read for its preview; send() retries once without it.
        return Outcome(Reaction.GIVE_UP, detail, status_code=status), LINK_FAILED
    if code == DUPLICATE_POST:
        # The same text is on the Page already: the earlier attempt went through.
        return Outcome(Reaction.OK, f"already posted ({detail})", status_code=status), code
    return _code_outcome(code, error, detail, status, headers), code


def _error_detail(error: dict) -> str:
    code, subcode = error.get("code"), error.get("error_subcode")
    text = f"Graph error {code}" + (f"/{subcode}" if subcode else "")
    text += f" ({error.get('type', '?')}): {error.get('message', '')}"
    if error.get("fbtrace_id"):
        text += f" [fbtrace_id {error['fbtrace_id']}]"
    return text[:300]


def _code_outcome(
    code: int, error: dict, detail: str, status: int, headers: httpx.Headers
) -> Outcome:
    if code in RATE_LIMITED:
        wait = regain_seconds(headers) or told_wait(status, headers)
        if wait:
            return Outcome(Reaction.RETRY_AFTER, detail, wait, status_code=status)
        return Outcome(Reaction.RETRY_BACKOFF, detail, status_code=status)
    if code == 100 and error.get("error_subcode") == 33:
        # "Object with ID ... does not exist": the page_id setting is wrong.
        return Outcome(Reaction.DISABLE_CHANNEL, detail, status_code=status)
    if 200 <= code <= 299:
        return Outcome(Reaction.DISABLE_CHANNEL, detail, status_code=status)
    reaction = _CODES.get(code)
    if reaction is None:
        # Undocumented: retried a bounded number of times rather than dropped.
        reaction = Reaction.RETRY_BACKOFF
    if reaction is not Reaction.RETRY_BACKOFF and error.get("is_transient") is True:
        reaction = Reaction.RETRY_BACKOFF
    wait = told_wait(status, headers) if reaction is Reaction.RETRY_BACKOFF else None
    if wait is not None:
        return Outcome(Reaction.RETRY_AFTER, detail, wait, status_code=status)
    return Outcome(reaction, detail, status_code=status)


def regain_seconds(headers: httpx.Headers) -> float | None:
    """Return the longest ``estimated_time_to_regain_access`` of the usage headers, in
    seconds (Graph gives minutes), or None when no header names a wait."""
    usages = (read_json(headers.get(name, "")) for name in USAGE_HEADERS)
    wait = max((m for usage in usages for m in _regain_values(usage)), default=0)
    return wait * 60.0 if wait > 0 else None


def _regain_values(usage: object) -> list[float]:
    """Collect every ``estimated_time_to_regain_access`` in a usage header's JSON."""
    if isinstance(usage, list):
        return [v for entry in usage for v in _regain_values(entry)]
    if not isinstance(usage, dict):
        return []
    found = []
    for key, value in usage.items():
        if key == "estimated_time_to_regain_access" and isinstance(value, int | float):
            found.append(float(value))
        else:
            found += _regain_values(value)
    return found
