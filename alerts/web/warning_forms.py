"""Forms for drafting and reviewing warnings (Flask-WTF: CSRF plus coarse size limits).

The real checks (lengths, vocabularies, jurisdiction, times, indicators) live in
``alerts.warnings.content``; these forms only bound what a browser may send and carry the labels.
Field names are the API's, so a domain refusal lands next to the right field.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from alerts.warnings import content
from alerts.web.forms import CheckboxesField

WARNING_TYPE_LABELS = {
    "scam_phone": _l("Phone scam"),
    "scam_online": _l("Online scam"),
    "fake_link": _l("Fake official link"),
    "theft": _l("Theft"),
    "drugs": _l("Drugs"),
    "missing_person": _l("Missing person"),
    "wanted_person": _l("Wanted person"),
    "traffic": _l("Traffic"),
    "fake_news": _l("Fake news / false information (refutation)"),
    "other": _l("Other"),
}
SEVERITY_LABELS = {
    "Extreme": _l("Extreme"),
    "Severe": _l("Severe"),
    "Moderate": _l("Moderate"),
    "Minor": _l("Minor"),
}
URGENCY_LABELS = {
    "Immediate": _l("Immediate: act now"),
    "Expected": _l("Expected: act within the hour"),
    "Future": _l("Future: act soon"),
    "Past": _l("Past: no longer needed"),
}
CERTAINTY_LABELS = {
    "Observed": _l("Observed"),
    "Likely": _l("Likely"),
    "Possible": _l("Possible"),
    "Unlikely": _l("Unlikely"),
}
CATEGORY_LABELS = {"Security": _l("Security (crime)"), "Safety": _l("Safety")}
MODE_LABELS = {
    "Actual": _l("Real warning, for residents"),
    "Exercise": _l("Exercise (drill): never sent to residents"),
    "Test": _l("Technical test: never sent to residents"),
}
CHANNEL_LABELS = {
    "zalo": "Zalo",
    "facebook": "Facebook",
    "telegram": "Telegram",
    "sms": "SMS",
    "email": _l("Email"),
    "webhook": _l("Newsrooms and partners (webhook)"),
}
STATUS_LABELS = {
    "draft": _l("draft"),
    "submitted": _l("awaiting approval"),
    "approved": _l("approved, scheduled"),
    "published": _l("published"),
    "rejected": _l("rejected"),
    "withdrawn": _l("withdrawn"),
    "cancelled": _l("cancelled"),
    "expired": _l("expired"),
}
FIELD_LABELS = {
    "headline": _l("Headline"),
    "description": _l("What is happening"),
    "instruction": _l("What residents should do"),
    "category": _l("Category"),
    "warning_type": _l("Type of warning"),
    "severity": _l("Severity"),
    "urgency": _l("Urgency"),
    "certainty": _l("Certainty"),
    "mode": _l("Mode"),
    "regions": _l("Regions"),
    "channels": _l("Channels"),
    "publish_at": _l("Publish at"),
    "expires_at": _l("Expires at"),
    "headline_en": _l("Headline (English)"),
    "description_en": _l("What is happening (English)"),
    "instruction_en": _l("What residents should do (English)"),
    "link": _l("Link to an official page"),
    "image": _l("Image"),
    "phones": _l("Scammers' phone numbers"),
    "accounts": _l("Scammers' bank accounts"),
    "links": _l("Scammers' links"),
    "claim": _l("The false claim going around, as received"),
    "claim_links": _l("Links the false claim spreads"),
}
# A refutation's own fields: shown when its type is chosen, sent as the domain takes them.
REFUTATION_FIELDS = ("claim", "claim_links")
# A browser never needs to send more than this per field; the domain sets the real limits.
_CAP = 20_000


def refutation_data(found: content.Refutation | None) -> dict:
    """Return a stored refutation's form fields (none for other warnings)."""
    if found is None:
        return {}
    return {"claim": found.claim, "claim_links": "\n".join(found.links)}


def _choices(values, labels) -> list[SelectChoice]:
    return [SelectChoice(v, labels[v]) for v in values]


def choice_field(name: str, values: tuple[str, ...], labels: dict, default: str | None = None):
    """A drop-down of a vocabulary; the domain, not the form, refuses unknown values."""
    return SelectField(
        FIELD_LABELS[name],
        choices=_choices(values, labels),
        default=default,
        validate_choice=False,
    )


def text_field(name: str, area: bool = False):
    """A text field; those with a limit show a live character count (data-maxlength)."""
    field = TextAreaField if area else StringField
    limit = content.LIMITS.get(name.removesuffix("_en"))
    render_kw = {"data-maxlength": limit} if limit and name != "link" else {}
    if area:
        render_kw["rows"] = 6 if name.startswith("description") else 3
    return field(FIELD_LABELS[name], [Length(max=_CAP)], render_kw=render_kw)


class WarningForm(FlaskForm):
    headline = text_field("headline")
    description = text_field("description", area=True)
    instruction = text_field("instruction", area=True)
    warning_type = choice_field("warning_type", content.WARNING_TYPES, WARNING_TYPE_LABELS)
    category = choice_field("category", content.CATEGORIES, CATEGORY_LABELS)
    severity = choice_field("severity", content.SEVERITIES, SEVERITY_LABELS, "Severe")
    urgency = choice_field("urgency", content.URGENCIES, URGENCY_LABELS, "Immediate")
    certainty = choice_field("certainty", content.CERTAINTIES, CERTAINTY_LABELS, "Observed")
    mode = RadioField(
        FIELD_LABELS["mode"],
        choices=_choices(content.MODES, MODE_LABELS),
        default="Actual",
        validate_choice=False,
    )
    regions = StringField(FIELD_LABELS["regions"], [Length(max=_CAP)])
    channels = CheckboxesField(
        FIELD_LABELS["channels"],
        choices=_choices(content.CHANNELS, CHANNEL_LABELS),
        default=list(content.CHANNELS),
        validate_choice=False,
    )
    publish_at = StringField(
        FIELD_LABELS["publish_at"], [Length(max=40)], render_kw={"type": "datetime-local"}
    )
    expires_at = StringField(
        FIELD_LABELS["expires_at"], [Length(max=40)], render_kw={"type": "datetime-local"}
    )
    link = text_field("link")
    image = FileField(FIELD_LABELS["image"])
    remove_image = BooleanField(_l("Remove the image"))
    phones = text_field("phones", area=True)
    accounts = text_field("accounts", area=True)
    links = text_field("links", area=True)
    claim = text_field("claim", area=True)
    claim_links = text_field("claim_links", area=True)
    headline_en = text_field("headline_en")
    description_en = text_field("description_en", area=True)
    instruction_en = text_field("instruction_en", area=True)


ACTION_LABELS = {
    "alert.create": _l("drafted"),
    "alert.edit": _l("edited"),
    "alert.submit": _l("sent for approval"),
    "alert.approve": _l("approved"),
    "alert.reject": _l("rejected"),
    "alert.withdraw": _l("withdrawn"),
    "alert.update": _l("started an update"),
    "alert.cancel": _l("cancelled"),
    "alert.publish": _l("published"),
    "alert.publish_refused": _l("publication refused: content differs from the approved"),
    "alert.expire": _l("expired"),
    "alert.refused": _l("refused"),
    "alert.cancel_queued": _l("cancellation queued to everyone who received it"),
    "alert.cancel_unsigned": _l("cancellation could not be signed"),
    "delivery.replay": _l("dead letter sent again"),
}
PREVIEW_LABELS = {
    "web": _l("Portal page"),
    "cap": _l("CAP 1.2 document"),
    "atom": _l("Atom feed entry"),
}
COUNT_LABELS = {
    "characters": _l("characters"),
    "segments": _l("SMS parts"),
    "encoding": _l("encoding"),
    "messages": _l("messages"),
    "bytes": _l("bytes"),
    "areas": _l("areas"),
    "regions": _l("regions"),
    "languages": _l("languages"),
}
DELIVERY_LABELS = {
    "queued": _l("queued"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "failed": _l("retrying"),
    "dead": _l("dead"),
    "cancelled": _l("stopped"),
    "delivered": _l("delivered"),
    "read": _l("read"),
    "reported_failed": _l("failed after sending"),
}
# Everything the warning pages need to name vocabularies, registered as Jinja globals.
LABELS = {
    "WARNING_TYPE_LABELS": WARNING_TYPE_LABELS,
    "SEVERITY_LABELS": SEVERITY_LABELS,
    "URGENCY_LABELS": URGENCY_LABELS,
    "CERTAINTY_LABELS": CERTAINTY_LABELS,
    "CATEGORY_LABELS": CATEGORY_LABELS,
    "MODE_LABELS": MODE_LABELS,
    "CHANNEL_LABELS": CHANNEL_LABELS,
    "STATUS_LABELS": STATUS_LABELS,
    "FIELD_LABELS": FIELD_LABELS,
    "ACTION_LABELS": ACTION_LABELS,
    "PREVIEW_LABELS": PREVIEW_LABELS,
    "COUNT_LABELS": COUNT_LABELS,
    "DELIVERY_LABELS": DELIVERY_LABELS,
}


class ReviewForm(FlaskForm):
    """Approve or reject: carries the content hash the reviewer saw."""

    content_hash = HiddenField()
    confirm = BooleanField()
    reason = TextAreaField(_l("Reason for rejecting"), [Length(max=_CAP)])


class ReasonForm(FlaskForm):
    """Cancel: one step, with a reason residents and the issuing unit will see."""

    reason = TextAreaField(_l("Why is it cancelled?"), [Length(max=_CAP)])


class ListFilterForm(FlaskForm):
    """The list's status filter (GET, no CSRF)."""

    class Meta:
        csrf = False

    show = SelectField(
        choices=[SelectChoice(v, v) for v in ("open", "review", "published", "closed", "all")],
        default="open",
    )
