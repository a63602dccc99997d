"""Domain refusals, shared by every module that checks rules.

Messages are English msgids with ``%(name)s`` placeholders filled from ``params``; the web
and API layers translate them. ``status`` is the HTTP status the API answers with.
"""

from __future__ import annotations

# Keywords that mark English messages for extraction into the catalogue (see
# scripts/translations): the message is the first argument, or the third of _require_status.
EXTRACT_KEYWORDS = ("N_", "Refused", "Forbidden", "Conflict", "refuse", "_require_status:3")


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class Refused(Exception):
    """The change is not valid (422); ``field`` names the offending field, if any."""

    status = 422

    def __init__(self, message: str, field: str | None = None, /, **params: object):
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params


class Forbidden(Refused):
    """The actor may see the object but lacks the right to do this (403)."""

    status = 403


class Conflict(Refused):
    """The object is not in a state that allows this (409)."""

    status = 409


class Invalid(Refused):
    """Several fields are invalid at once (422); ``problems`` lists every one."""

    def __init__(self, problems: list[Refused]):
        first = problems[0]
        super().__init__(first.message, first.field, **first.params)
        self.problems = problems


class NotFound(Exception):
    """The object does not exist or lies outside the actor's jurisdiction (404)."""
