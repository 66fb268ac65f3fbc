"""Audit entries for authentication events, which happen inside django-allauth and
django.contrib.auth rather than in our actions. Ids only: a failed login records no username,
because a mistyped password in the username field would otherwise land in the log."""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from wegweiser.accounts.middleware import LOGIN_AT
from wegweiser.core.audit import audit_record
from wegweiser.organizations.access import forget
from wegweiser.realtime.sessions import session_ended_on_commit


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = int(time.time())
    audit_record(actor=user, action="auth.login", obj=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user, action="auth.logout", obj=user)
        # The session's sockets close too (Django flushes the session right after this signal).
        session = getattr(request, "session", None)
        session_ended_on_commit(user, getattr(session, "session_key", None))


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: Any, request: Any = None, **kwargs: Any) -> None:
    audit_record(actor=None, action="auth.login_failed")


@receiver(authenticator_added)
def _mfa_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    forget(user)
    audit_record(actor=user, action="auth.mfa_added", obj=user,
                 data={"type": authenticator.type})


@receiver(authenticator_removed)
def _mfa_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    forget(user)
    audit_record(actor=user, action="auth.mfa_removed", obj=user,
                 data={"type": authenticator.type})
