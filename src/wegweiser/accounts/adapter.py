from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from wegweiser.accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    """Self-registration creates client accounts only; staff accounts come from an admin."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user.kind = User.Kind.CLIENT
        return super().save_user(request, user, form, commit=commit)
