"""Password rules after NIST SP 800-63B-4: length and a breached-password list, nothing else.

No composition rules (upper case, digits, symbols), no forced rotation. The breached list is
Django's list of 20,000 passwords most common in breach corpora, shipped with Django; operators
can add a larger list (one password per line, optionally gzipped) with BREACHED_PASSWORDS_FILE,
for example the most frequent entries of the Have I Been Pwned corpus. Nothing is looked up
over the network.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wegweiser import config


class LengthValidator:
    def __init__(self, min_length: int = 15, max_length: int = 256) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                ngettext(
                    "This password is too short. Use at least %(min)d character — "
                    "a few words in a row are easy to remember.",
                    "This password is too short. Use at least %(min)d characters — "
                    "a few words in a row are easy to remember.",
                    self.min_length,
                )
                % {"min": self.min_length},
                code="password_too_short",
            )
        if len(password) > self.max_length:
            raise ValidationError(
                _("This password is too long. Use at most %(max)d characters.")
                % {"max": self.max_length},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return ngettext(
            "At least %(min)d character. Long phrases are good; no special characters needed.",
            "At least %(min)d characters. Long phrases are good; no special characters needed.",
            self.min_length,
        ) % {"min": self.min_length}


@cache
def _extra_breached() -> frozenset[str]:
    name = config.raw("BREACHED_PASSWORDS_FILE")
    if not name:
        return frozenset()
    path = Path(name)
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="ignore") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


class BreachedPasswordValidator(CommonPasswordValidator):
    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.lower().strip()
        if lowered in self.passwords or lowered in _extra_breached():
            raise ValidationError(
                _("This password appears in lists of leaked passwords. Please choose another."),
                code="password_breached",
            )

    def get_help_text(self) -> str:
        return _("It must not appear in lists of leaked passwords.")
