from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.http import HttpRequest

from wegweiser.accounts.models import User
from wegweiser.realtime.sessions import session_ended_on_commit


class AccountAdapter(DefaultAccountAdapter):
    """Self-registration creates client accounts only; staff accounts come from an admin."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user.kind = User.Kind.CLIENT
        return super().save_user(request, user, form, commit=commit)


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    """"Log out everywhere" also closes those sessions' open sockets at once (the session watch
    in realtime/sessions.py would otherwise take up to a minute)."""

    def end_sessions(self, sessions: Any) -> None:
        for session in sessions:
            session_ended_on_commit(session.user, session.session_key)
            session.end()
