"""Small helpers shared by the forms of every app."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError


def add_action_errors(form: Any, exc: ValidationError) -> None:
    """Show an action's ValidationError above the form, keeping what the user typed."""
    for message in exc.messages:
        form.add_error(None, message)
