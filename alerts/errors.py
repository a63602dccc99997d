"""Domain refusals, shared by every module that checks rules.

Messages are English msgids with ``%(name)s`` placeholders filled from ``params``; the web
and API layers translate them. ``status`` is the HTTP status the API answers with.
"""

from __future__ import annotations

# Keywords that mark English messages for extraction into the catalogue (see
# scripts/translations): the message is the first argument, or the third of _require_status.
EXTRACT_KEYWORDS = ("N_", "Refused", "Forbidden", "Conflict", "refuse")


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

    @property
    def text(self) -> str:
        """Return the English message with its values filled in."""
        return self.message % self.params if self.params else self.message

    def audit_detail(self) -> dict[str, object]:
        """Return what an audit entry keeps of this refusal: the message with its values
        (the msgid alone once stored "Region %(code)s is outside your jurisdiction."),
        plus the field and the values themselves, so entries can be searched by them."""
        detail: dict[str, object] = {"reason": self.text}
        if self.field:
            detail["field"] = self.field
        if self.params:
            detail["values"] = {k: _plain(v) for k, v in self.params.items()}
        return detail


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

    def audit_detail(self) -> dict[str, object]:
        """Return every problem's detail (one problem: its own, as for a single refusal)."""
        if len(self.problems) == 1:
            return self.problems[0].audit_detail()
        return {
            "reason": " ".join(p.text for p in self.problems),
            "problems": [p.audit_detail() for p in self.problems],
        }


def _plain(value: object) -> object:
    """Return a value as JSON can hold it (numbers and text as they are, others as text)."""
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class NotFound(Exception):
    """The object does not exist or lies outside the actor's jurisdiction (404)."""
