"""The input rules every partner action applies before it writes anything. Each refusal is a
ValidationError naming its field (``error_dict``), so the page shows it beside what was typed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _


def refuse(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def clean_text(value: Any, *, field: str, label: str, maximum: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise refuse(field, _("%(field)s: please fill this in.") % {"field": label}, "required")
    if len(text) > maximum:
        raise refuse(
            field,
            _("%(field)s: at most %(max)s characters, you wrote %(count)s.")
            % {"field": label, "max": maximum, "count": len(text)},
            "too_long",
        )
    return text


def clean_codes(values: Any, *, field: str, allowed: Iterable[str], required: str) -> list[str]:
    """A list of fixed codes, without repeats, in the order of ``allowed``; ``required`` is the
    message when none is given."""
    allowed = list(allowed)
    if isinstance(values, str) or not isinstance(values, Iterable):
        values = [values] if values else []
    given = {str(value) for value in values}
    if not given:
        raise refuse(field, required, "required")
    if given - set(allowed):
        raise refuse(field, _("Choose only from the list."), "bad_choice")
    return [code for code in allowed if code in given]


def clean_website(value: Any) -> str:
    url = str(value or "").strip()
    if not url:
        return ""
    if len(url) > 200:
        raise refuse("website", _("The web address is too long (at most 200 characters)."), "too_long")
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise refuse(
            "website", _("Enter a full web address starting with https://."), "bad_url"
        ) from None
    return url


def clean_email(value: Any, *, field: str = "email", required: bool = False) -> str:
    email = str(value or "").strip()
    if not email:
        if required:
            raise refuse(field, _("Enter an e-mail address."), "required")
        return ""
    if len(email) > 254:
        raise refuse(field, _("The e-mail address is too long."), "too_long")
    try:
        validate_email(email)
    except ValidationError:
        raise refuse(field, _("Enter a valid e-mail address."), "bad_email") from None
    return email
