"""``{% money amount currency %}``: minor units as the reader's language writes money; with
``kind="income"`` the sign says whether it reduces (−) or adds back (+) to the entitlement."""

from __future__ import annotations

from django import template

from wegweiser.benefits.selectors import reader_language
from wegweiser.rules.money import format_amount

register = template.Library()


@register.simple_tag
def money(amount: int, currency: str, kind: str = "") -> str:
    language = reader_language()
    if kind == "income":
        sign = "−" if amount >= 0 else "+"
        return f"{sign}\u00a0{format_amount(abs(amount), currency, language)}"
    return format_amount(amount, currency, language)
