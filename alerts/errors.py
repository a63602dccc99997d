"""Domain refusals, shared by every module that checks rules.

Messages are English msgids with ``%(name)s`` placeholders filled from ``params``; the web
and API layers translate them. ``status`` is the HTTP status the API answers with.
"""

from __future__ import annotations

import errno
import sqlite3

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


# A write the disk refused: what the pages (503) and the API (503 with Retry-After) say.
# Nothing was saved: each operation is one transaction (alerts.db.write), rolled back whole.
STORAGE_FAILING = N_(
    "The server cannot save anything right now: its storage is full or failing. Nothing was saved."
)
RETRY_AFTER_S = 60
# SQLite's primary result codes for a write the storage refused; sqlite3 gives the extended
# code (SQLITE_IOERR_WRITE is 778), whose low byte is the primary one (sqlite.org/rescode.html).
_STORAGE_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def storage_fault(error: BaseException) -> str | None:
    """Return the name of the fault ("SQLITE_FULL", "SQLITE_IOERR_WRITE", "ENOSPC") when an
    error means the disk refused a write, else None.

    A full disk is no bug and passes once space is freed: callers answer 503 ("try again
    later") rather than a generic 500. Reads go on working meanwhile.
    """
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _STORAGE_CODES:
            return error.sqlite_errorname
        return "SQLITE_FULL" if "database or disk is full" in str(error) else None
    if isinstance(error, OSError) and error.errno in _NO_SPACE:
        return errno.errorcode[error.errno]
    return None
