from __future__ import annotations

from typing import Any

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from wegweiser.accounts.models import User
from wegweiser.core.audit import audit_record
from wegweiser.organizations.access import grantable_roles
from wegweiser.organizations.actions import membership_create
from wegweiser.organizations.models import Node


def staff_account_create(
    *, actor: Any, node: Node, username: str, email: str, role: str, base_url: str
) -> User:
    """Create a staff account with a role and e-mail a link to choose a password.

    The account has no usable password until the person follows the link, and no permission
    until they have set up two-factor authentication (organizations.access).
    """
    if actor is not None and role not in grantable_roles(actor, node):
        raise PermissionDenied
    with transaction.atomic():
        user = User(username=username, email=email, kind=User.Kind.STAFF)
        user.set_unusable_password()
        user.save()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        audit_record(actor=actor, action="account.staff_created", node=node, obj=user)
        membership_create(actor=actor, node=node, user=user, role=role)
        link = password_set_link(user, base_url)
        context = {"site_name": settings.SITE_NAME, "node": node.name, "link": link,
                   "username": username}
        transaction.on_commit(
            lambda: send_mail(
                subject=render_to_string("accounts/email/staff_invite_subject.txt", context).strip(),
                message=render_to_string("accounts/email/staff_invite.txt", context),
                from_email=None,
                recipient_list=[email],
            )
        )
    return user


def password_set_link(user: User, base_url: str) -> str:
    """A one-time link to choose a password (allauth's reset link; invalid once used)."""
    key = default_token_generator.make_token(user)
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": key},
    )
    return base_url.rstrip("/") + path


def user_set_language(*, user: Any, language: str) -> None:
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return
    user.language = language
    user.save(update_fields=["language"])


def client_account_create(*, username: str, password: str) -> User:
    """A client registering on the spot (username and password only, no e-mail); the caller
    validated both and runs this in the same transaction as what the client came for."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password, kind=User.Kind.CLIENT)
        audit_record(actor=user, action="account.client_created", obj=user)
    return user
