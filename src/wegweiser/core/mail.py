"""Content-free notification e-mails: the helpers every notifying job shares (counseling's new
messages and reminders, benefit decisions). The e-mails say that something is waiting, never
what: no names, no text, no amounts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail

logger = logging.getLogger(__name__)


def verified_emails(user_pks: Iterable[int], *, primary_only: bool) -> dict[int, str]:
    """Verified addresses, the primary one first."""
    qs = EmailAddress.objects.filter(user_id__in=list(user_pks), verified=True)
    if primary_only:
        qs = qs.filter(primary=True)
    found: dict[int, str] = {}
    for user_id, email in qs.order_by("user_id", "-primary", "pk").values_list("user_id", "email"):
        found.setdefault(user_id, email)
    return found


def send_quietly(connection: Any, *, to: str, subject: str, body: str) -> bool:
    try:
        mail.EmailMessage(subject=subject, body=body, to=[to], connection=connection).send()
    except Exception:  # SMTP trouble for one recipient: the next run tries again
        logger.exception("could not send a notification e-mail")
        return False
    return True


def user_language(user: Any) -> str:
    language = getattr(user, "language", "") or ""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
