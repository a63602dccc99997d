"""Reading what a caller sends: a JSON object body, its content fields and query parameters.

Anything that is not a JSON object is a 400 problem, never a 500; a field of the wrong type
is a 422 naming the field. Images arrive inline as ``data:image/...;base64,`` URLs (one
request, no multipart) or as the SHA-256 of an image stored before.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import fields

import sqlite_utils
from flask import request
from werkzeug.exceptions import BadRequest

from alerts.api import bp
from alerts.content import Content
from alerts.errors import N_
from alerts.errors import Invalid
from alerts.errors import Refused
from alerts.images import store_image

# An image may be 2 MB, which base64 turns into 2.7 MB; the rest of a warning is small.
MAX_BODY = 3 * 1024 * 1024
CONTENT_FIELDS = tuple(f.name for f in fields(Content))
_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,(.*)", re.IGNORECASE | re.DOTALL)
_BAD_IMAGE = N_("Send the image as a data:image/...;base64, URL or a stored image's SHA-256.")


@bp.before_request
def _limit_body() -> None:
    """Allow bodies up to MAX_BODY here (the web forms keep the app's smaller limit)."""
    request.max_content_length = MAX_BODY


def json_body(*, required: bool = True) -> dict:
    """Return the body as a JSON object; 400 otherwise (an empty body is ``{}`` if optional)."""
    data = request.get_data(cache=True)
    if not data.strip() and not required:
        return {}
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise BadRequest(N_("The body must be a JSON object."))
    return body


def _image(db: sqlite_utils.Database, value: object) -> object:
    """Store an inline image and return its SHA-256; leave anything else to the workflow."""
    if not (isinstance(value, str) and value[:5].lower() == "data:"):
        return value
    match = _DATA_URL.fullmatch(value)
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match[1]), validate=True) if match else b""
    except binascii.Error:
        data = b""
    if not data:
        raise Invalid([Refused(_BAD_IMAGE, "image")])
    return store_image(db, data)


def content(db: sqlite_utils.Database, body: dict) -> dict:
    """Return the content fields of a body (server-owned ones are ignored), image stored."""
    raw = {name: body[name] for name in CONTENT_FIELDS if name in body}
    if "image" in raw:
        raw["image"] = _image(db, raw["image"])
    return raw


def text(body: dict, name: str, problems: list[Refused]) -> str:
    """Return a text member of the body ("" if missing); a non-text value adds a problem."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(Refused("Must be text.", name))
        return ""
    return value


def check(problems: list[Refused]) -> None:
    """Raise Invalid listing every problem found, if any (one 422 names them all)."""
    if problems:
        raise Invalid(problems)
