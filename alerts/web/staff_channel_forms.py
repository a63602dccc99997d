"""Forms of the account page's work notices: choosing the staff channel, confirming its code,
and the language the notices are written in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from alerts.i18n import LANGUAGES


class StaffChannelForm(FlaskForm):
    """Where the person wants their work notices (the domain checks the address)."""

    channel = RadioField(
        _l("Channel"),
        choices=[
            SelectChoice("email", _l("Email")),
            SelectChoice("telegram", _l("Telegram chat of the unit")),
        ],
        default="email",
    )
    address = StringField(_l("Email address or Telegram chat id"), validators=[Length(max=254)])


class StaffCodeForm(FlaskForm):
    """The code sent to the new channel."""

    code = StringField(_l("Code"), validators=[Length(max=12)])


class StaffLanguageForm(FlaskForm):
    """The language of the person's work notices (each language named in itself)."""

    language = RadioField(
        _l("Language of your work notices"),
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
    )
