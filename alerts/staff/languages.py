"""The language a staff member's work notices are written in: the one they chose on their
account page, else the one they last picked in the UI's switch, else the deployment's
default. The worker reads it from the account, since it has no request to ask."""

from __future__ import annotations

from collections.abc import Mapping

import sqlite_utils

from alerts import audit
from alerts.db import write
from alerts.errors import N_
from alerts.errors import Refused
from alerts.i18n import LANGUAGES
from alerts.models import Acting
from alerts.store import audit as audit_store
from alerts.store import users as user_store


def notice_language(language: str | None, ui_language: str | None, config: Mapping) -> str:
    """Return the language to write to a person in, from their account's two columns."""
    return language or ui_language or config.get("DEFAULT_LOCALE", "vi")


def of_user(db: sqlite_utils.Database, user_id: int, config: Mapping) -> str:
    """Return the language the user's work notices are written in."""
    return notice_language(*user_store.languages(db, user_id), config)


def choose(db: sqlite_utils.Database, acting: Acting, lang: str) -> None:
    """Set the language of the user's work notices (audited)."""
    if lang not in LANGUAGES:
        raise Refused(N_("Choose Vietnamese or English."), "language")
    with write(db):
        user_store.update_user(db, acting.user.id, language=lang)
        entry = audit.make_entry(
            acting.actor, "account.language", f"user:{acting.user.username}", {"language": lang}
        )
        audit_store.append(db, entry)


def remember_ui(db: sqlite_utils.Database, user_id: int, lang: str | None) -> None:
    """Keep the language the user just picked in the UI (their notices follow it until
    they choose one on the account page); a preference, not an action worth an audit entry."""
    if lang in LANGUAGES and lang != user_store.languages(db, user_id)[1]:
        with write(db):
            user_store.update_user(db, user_id, ui_language=lang)
