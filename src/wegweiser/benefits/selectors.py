"""Reads for the transparency pages: every rule and parameter with its history and reference."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.http import Http404
from django.utils import translation

from wegweiser import rulesets
from wegweiser.rules.engine import Ruleset
from wegweiser.rules.errors import InputError
from wegweiser.rules.money import format_amount
from wegweiser.rules.parameters import Value


def reader_language() -> str:
    """The active language if the rules speak it (de, sv, en), else German."""
    language = translation.get_language() or "de"
    return language if language in {"de", "sv", "en"} else "de"


def ruleset_get(ruleset_id: str) -> Ruleset:
    try:
        return rulesets.get(ruleset_id)
    except InputError:
        raise Http404 from None


def format_value(value: Value | None, unit: str, currency: str, language: str) -> str:
    if value is None:
        return "—"
    if unit == "currency":
        return format_amount(int(value), currency, language)
    if unit == "rate":
        percent = Decimal(Fraction(value).numerator) * 100 / Decimal(Fraction(value).denominator)
        text = format(percent.normalize(), "f")
        return (text if language == "en" else text.replace(".", ",")) + "\u00a0%"
    return str(value)


def parameter_rows(ruleset: Ruleset, language: str) -> list[dict[str, Any]]:
    rows = []
    for parameter in ruleset.parameters:
        rows.append({
            "key": parameter.key, "label": parameter.label[language], "unit": parameter.unit,
            "reference": parameter.reference, "source": parameter.source,
            "unverified": parameter.unverified,
            "history": [{"start": entry.start, "value": format_value(entry.value, parameter.unit,
                                                                     ruleset.currency, language),
                         "reference": entry.reference, "unverified": entry.unverified, "note": entry.note}
                        for entry in parameter.values],
        })
    return rows


def variable_rows(ruleset: Ruleset, language: str) -> list[dict[str, Any]]:
    plan = ruleset.plan(tuple(ruleset.variables))
    return [{"name": v.name, "label": v.label[language], "entity": v.entity, "unit": v.unit,
             "reference": v.reference, "is_input": v.is_input, "documentation": v.documentation,
             "needs": [a for a in v.arguments if a not in {"p", "pop"}]}
            for v in plan.steps]
