"""``{% money amount currency %}``: minor units as the reader's language writes money; with
``kind="income"`` the sign says whether it reduces (−) or adds back (+) to the entitlement."""

from __future__ import annotations

from django import template
from django.utils import translation

from wegweiser.rules.money import format_amount

register = template.Library()


@register.simple_tag
def money(amount: int, currency: str, kind: str = "") -> str:
    language = translation.get_language() or "de"
    language = language if language in {"de", "sv", "en"} else "de"
    if kind == "income":
        sign = "−" if amount >= 0 else "+"
        return f"{sign}\u00a0{format_amount(abs(amount), currency, language)}"
    return format_amount(amount, currency, language)
