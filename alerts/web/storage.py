"""Writes the disk refused (full or failing): answered 503 with what to do, never a 500.

The fault is the machine's, not the user's, and it passes: the answer says that nothing was
saved and when to try again (Retry-After), the draft forms keep what was typed, and the
refusal is logged once and remembered for /healthz (``alerts.store.health``).
"""

from __future__ import annotations

import sqlite3

from flask import flash
from flask import g
from flask import request
from flask_babel import gettext as _

from alerts.clock import now_text
from alerts.errors import RETRY_AFTER_S
from alerts.errors import STORAGE_FAILING
from alerts.errors import storage_fault
from alerts.store import health as write_health

# What a refused write raises; ``storage_fault`` tells a full disk from a bug.
FAULTS = (sqlite3.Error, OSError)
RETRY_AFTER = {"Retry-After": str(RETRY_AFTER_S)}


def refused(fault: str) -> None:
    """Roll back what the request began, log the refusal once and remember it."""
    where = f"{request.method} {request.endpoint or '?'}"
    write_health.refused(g.get("db"), fault, where, now_text())


def page_message() -> str:
    """Return what the 503 page says: nothing was saved, go back and try again."""
    return " ".join(
        (
            _(STORAGE_FAILING),
            _("Go back and try again in a few minutes: your browser still has what you typed."),
        )
    )


def absorb(error: Exception) -> None:
    """Take a refused write as ``refused`` does; raise anything else again (a bug, for the
    500 handler)."""
    fault = storage_fault(error)
    if fault is None:
        raise error
    refused(fault)


def keep_form(error: Exception) -> None:
    """Answer a refused write of a form by showing the form again with what was typed."""
    absorb(error)
    flash(
        " ".join(
            (
                _(STORAGE_FAILING),
                _("What you typed is still in the form below: try again in a few minutes."),
            )
        ),
        "error",
    )


def forget_on_success(response):
    """After a request whose writes went through, forget the last refused write."""
    db = g.get("db")
    if response.status_code < 400 and db is not None and db.conn.total_changes:
        write_health.record_success()
    return response
