"""The rules engine's errors as translated sentences. The engine has no Django in it; it gives a
stable code and the field, and this module says it in the user's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from wegweiser.rules.errors import RulesError


def message(error: RulesError) -> str:
    field = error.field or "input"
    texts = {
        "unknown_field": _("%(field)s: this field is not known. Remove it or check its spelling."),
        "negative_amount": _("%(field)s: amounts cannot be negative."),
        "invalid_amount": _("%(field)s: give a whole number of minor units (öre or cent), without a "
                            "decimal point."),
        "invalid_age": _("%(field)s: this age is not possible for the person's role."),
        "no_adult": _("The household needs at least one adult."),
        "no_persons": _("Every household needs at least one person."),
        "invalid_month": _("%(field)s: give the month as YYYY-MM."),
        "no_parameters": _("This ruleset has no parameters in force for that month, so nothing was "
                           "computed."),
        "unknown_ruleset": _("Unknown ruleset. Use se.ekonomiskt_bistand or de.buergergeld."),
        "too_many_persons": _("%(field)s: too many persons for one household."),
        "separate_unit": _("%(field)s: an adult over 24 who is not a partner forms a household of "
                           "their own; assess them separately."),
        "parameter": _("The parameter overrides are not valid: %(detail)s"),
    }
    text = texts.get(error.code, _("%(field)s: this value is not valid."))
    return text % {"field": field, "detail": error.message}


def as_dict(error: RulesError) -> dict[str, Any]:
    return {"code": error.code, "field": error.field, "message": message(error), "detail": error.message}
