"""Small helpers shared by the forms of every app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError


def run_with_message(request: Any, call: Callable[[], object], success: str) -> bool:
    """Run an action behind a plain POST button and say how it went: the translated refusal or
    ``success`` as a message on the next page. True when the action went through."""
    from django.contrib import messages

    try:
        call()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, success)
    return True


def form_submitted(form: Any, call: Callable[[dict[str, Any]], object]) -> bool:
    """Validate ``form`` and run ``call(cleaned_data)``; a refusal goes into the form beside what
    the user typed. True when the action went through."""
    if not form.is_valid():
        return False
    try:
        call(form.cleaned_data)
    except ValidationError as exc:
        add_action_errors(form, exc)
        return False
    return True


def add_action_errors(form: Any, exc: ValidationError) -> None:
    """Show an action's ValidationError beside the field it names (above the form when it names
    none, or a field the form does not have), keeping what the user typed."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return
    for message in exc.messages:
        form.add_error(None, message)
