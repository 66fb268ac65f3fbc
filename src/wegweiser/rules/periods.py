"""Months, the only period the income-support rules need (both are monthly benefits)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from wegweiser.rules.errors import InputError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: object, field: str = "month") -> Month:
        match = _MONTH.match(text) if isinstance(text, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise InputError(f"{field}: expected a month as YYYY-MM, got {text!r}", field=field,
                             code="invalid_month")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
