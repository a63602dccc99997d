"""Forms for unit admins' warning templates (Flask-WTF: CSRF plus coarse size limits).

The real checks (name, unit, vocabularies, lengths) live in ``alerts.warnings.warning_templates``;
field names are the warning form's, so a domain refusal lands next to the right field and a
template's fields fill the drafting form as they are. Labels are shared with that form.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from alerts.warnings import content
from alerts.web.warning_forms import CATEGORY_LABELS
from alerts.web.warning_forms import CERTAINTY_LABELS
from alerts.web.warning_forms import SEVERITY_LABELS
from alerts.web.warning_forms import URGENCY_LABELS
from alerts.web.warning_forms import WARNING_TYPE_LABELS
from alerts.web.warning_forms import choice_field
from alerts.web.warning_forms import text_field


class TemplateForm(FlaskForm):
    """A unit's template: its name, the unit it belongs to and the warning fields it fills."""

    name = StringField(_l("Template name"), [Length(max=200)])
    unit = StringField(_l("Unit code"), [Length(max=40)])
    warning_type = choice_field("warning_type", content.WARNING_TYPES, WARNING_TYPE_LABELS, "other")
    category = choice_field("category", content.CATEGORIES, CATEGORY_LABELS, "Security")
    severity = choice_field("severity", content.SEVERITIES, SEVERITY_LABELS, "Moderate")
    urgency = choice_field("urgency", content.URGENCIES, URGENCY_LABELS, "Expected")
    certainty = choice_field("certainty", content.CERTAINTIES, CERTAINTY_LABELS, "Observed")
    headline = text_field("headline")
    description = text_field("description", area=True)
    instruction = text_field("instruction", area=True)
    headline_en = text_field("headline_en")
    description_en = text_field("description_en", area=True)
    instruction_en = text_field("instruction_en", area=True)
