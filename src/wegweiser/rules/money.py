"""Integer money arithmetic with the rounding written out. Amounts are int64 minor units and never
negative where these are used; rates are exact fractions from the parameter files."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np


def rate_half_up(amount: Any, rate: Fraction) -> Any:
    """``amount × rate`` rounded half up to a whole minor unit (kaufmännisches Runden, § 41 Abs. 2
    SGB II; avrundning till hela ören)."""
    result = np.asarray(amount, dtype=np.int64) * rate.numerator
    result += rate.denominator // 2  # in place: no second temporary of the input's size
    result //= rate.denominator
    return result


def rate_down(amount: Any, rate: Fraction) -> Any:
    """``amount × rate`` rounded down: for limits, where rounding up would give more than allowed."""
    return np.asarray(amount, dtype=np.int64) * rate.numerator // rate.denominator


def divide_half_up(amount: Any, divisor: Any) -> Any:
    """``amount / divisor`` rounded half up (divisor > 0)."""
    divisor = np.asarray(divisor, dtype=np.int64)
    return (np.asarray(amount, dtype=np.int64) * 2 + divisor) // (2 * divisor)


def on_subset(mask: Any, values: Any, compute: Any) -> Any:
    """``compute(values[mask])`` where ``mask`` holds, 0 elsewhere: rules that apply to few people
    (a disregard, a supplement) cost memory and time for those few only."""
    mask = np.asarray(mask, dtype=bool)
    result = np.zeros(mask.shape, dtype=np.int64)
    if mask.any():
        result[mask] = compute(np.asarray(values)[mask])
    return result


def clip0(amount: Any) -> Any:
    return np.maximum(amount, 0)


def format_amount(minor: int, currency: str, language: str) -> str:
    """3 550,00 kr / 563,00 € / SEK 3,550.00 — as each language writes money."""
    sign = "−" if minor < 0 else ""
    whole, cents = divmod(abs(int(minor)), 100)
    if language == "en":
        number = f"{whole:,}.{cents:02d}"
        return f"{sign}{'€' if currency == 'EUR' else 'SEK '}{number}"
    grouped = f"{whole:,}".replace(",", "\u202f" if language == "sv" else ".")
    number = f"{grouped},{cents:02d}"
    return f"{sign}{number}\u00a0{'€' if currency == 'EUR' else 'kr'}"
