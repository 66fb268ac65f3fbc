"""Keeping the directory: partner entries and the partners' login accounts. Only holders of
``partners.manage`` (federation admins) or the system (``actor=None``: demo data, commands) write
here. Every action is atomic, writes its audit entry (ids and codes only, never names or text) and
changes nothing when it refuses.

A partner login is a staff-kind account WITHOUT any organization membership: it holds no
organization permission and sees only its partner's inbox. Accounts with a membership, client
accounts and accounts already attached to a partner are refused.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.organizations.models import Membership
from wegweiser.partners.access import can_manage
from wegweiser.partners.models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    REGION_LABELS,
    Partner,
    PartnerMember,
    Specialty,
)
from wegweiser.partners.validation import clean_codes, clean_email, clean_text, clean_website, refuse

EDITABLE = ("name", "kind", "specialties", "regions", "description", "website", "email")


def _check_manager(actor: Any) -> None:
    if actor is not None and not can_manage(actor):
        raise PermissionDenied


def _clean_entry(
    *, name: Any, kind: Any, specialties: Any, regions: Any, description: Any, website: Any, email: Any
) -> dict[str, Any]:
    if kind not in Partner.Kind.values:
        raise refuse("kind", _("Choose whether this is a company or a freelancer."), "bad_kind")
    return {
        "name": clean_text(name, field="name", label=_("Name"), maximum=NAME_MAX),
        "kind": kind,
        "specialties": clean_codes(
            specialties, field="specialties", allowed=Specialty.values,
            required=_("Choose at least one specialty."),
        ),
        "regions": clean_codes(
            regions, field="regions", allowed=REGION_LABELS, required=_("Choose at least one region.")
        ),
        "description": clean_text(
            description, field="description", label=_("Description"), maximum=DESCRIPTION_MAX,
            required=False,
        ),
        "website": clean_website(website),
        "email": clean_email(email),
    }


def partner_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    specialties: list[str],
    regions: list[str],
    description: str = "",
    website: str = "",
    email: str = "",
) -> Partner:
    _check_manager(actor)
    values = _clean_entry(name=name, kind=kind, specialties=specialties, regions=regions,
                          description=description, website=website, email=email)
    with transaction.atomic():
        partner = Partner.objects.create(**values)
        audit_record(
            actor=actor,
            action="partners.partner_created",
            obj=partner,
            data={"kind": partner.kind, "specialties": partner.specialties, "regions": partner.regions},
        )
    return partner


def partner_update(
    *,
    actor: Any,
    partner: Partner,
    name: str,
    kind: str,
    specialties: list[str],
    regions: list[str],
    description: str,
    website: str,
    email: str,
    is_active: bool,
) -> Partner:
    """Change an entry; deactivating it hides it from the directory and from matching and shuts
    its logins out, while the requests it received stay readable for the organizations."""
    _check_manager(actor)
    values = _clean_entry(name=name, kind=kind, specialties=specialties, regions=regions,
                          description=description, website=website, email=email)
    values["is_active"] = bool(is_active)
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        changed = sorted(field for field, value in values.items() if getattr(partner, field) != value)
        if changed:
            for field, value in values.items():
                setattr(partner, field, value)
            partner.save(update_fields=[*values, "updated_at"])
            audit_record(
                actor=actor,
                action="partners.partner_updated",
                obj=partner,
                data={"fields": changed, "active": partner.is_active},
            )
    return partner


def _attachable(username: str) -> Any:
    from wegweiser.accounts.models import User

    user = User.objects.filter(username=str(username or "").strip(), is_active=True).first()
    if (
        user is None
        or user.kind != User.Kind.STAFF
        or Membership.objects.filter(user=user).exists()
    ):
        raise refuse(
            "username",
            _("There is no staff account without an organization role with this username. A partner "
              "login must not belong to anyone working in an organization."),
            "not_attachable",
        )
    if PartnerMember.objects.filter(user=user).exists():
        raise refuse("username", _("This account already logs in for a partner."), "taken")
    return user


def partner_member_add(*, actor: Any, partner: Partner, username: str) -> PartnerMember:
    """Attach an existing staff-kind account without any membership as a login of ``partner``."""
    _check_manager(actor)
    with transaction.atomic():
        user = _attachable(username)
        member = PartnerMember.objects.create(partner=partner, user=user)
        audit_record(
            actor=actor,
            action="partners.member_added",
            obj=member,
            data={"partner": str(partner.public_id), "user": str(user.public_id)},
        )
    return member


def partner_member_remove(*, actor: Any, member: PartnerMember) -> None:
    _check_manager(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="partners.member_removed",
            obj=member,
            data={"partner": str(member.partner.public_id), "user": str(member.user.public_id)},
        )
        member.delete()


def partner_login_invite(
    *, actor: Any, partner: Partner, username: str, email: str, base_url: str
) -> PartnerMember:
    """Create a login for ``partner`` and e-mail a link to choose a password (the link of the
    staff invitation; no TOTP is asked of partners, see ``decorators.partner_required``)."""
    from allauth.account.models import EmailAddress

    from wegweiser.accounts.actions import password_set_link
    from wegweiser.accounts.models import User

    _check_manager(actor)
    username = str(username or "").strip()
    try:
        if not 3 <= len(username) <= 150:
            raise ValidationError("length")
        User.username_validator(username)
    except ValidationError:
        raise refuse(
            "username", _("Use 3 to 150 letters, digits and the characters @ . + - _."), "bad_username"
        ) from None
    email = clean_email(email, required=True).lower()
    if User.objects.filter(username__iexact=username).exists():
        raise refuse("username", _("This username is already taken."), "taken")
    if EmailAddress.objects.filter(email__iexact=email).exists():
        raise refuse("email", _("An account with this e-mail address already exists."), "taken")
    with transaction.atomic():
        user = User(username=username, email=email, kind=User.Kind.STAFF)
        user.set_unusable_password()
        user.save()
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        member = PartnerMember.objects.create(partner=partner, user=user)
        audit_record(actor=actor, action="partners.login_created", obj=user,
                     data={"partner": str(partner.public_id)})
        audit_record(
            actor=actor,
            action="partners.member_added",
            obj=member,
            data={"partner": str(partner.public_id), "user": str(user.public_id)},
        )
        context = {
            "site_name": settings.SITE_NAME,
            "partner": partner.name,
            "link": password_set_link(user, base_url),
            "username": username,
        }
        transaction.on_commit(
            lambda: send_mail(
                subject=render_to_string("partners/email/login_invite_subject.txt", context).strip(),
                message=render_to_string("partners/email/login_invite.txt", context),
                from_email=None,
                recipient_list=[email],
            )
        )
    return member
