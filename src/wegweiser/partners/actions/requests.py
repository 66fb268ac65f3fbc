"""Requests from organizations to partners, and the partners' answers. Every action is atomic,
writes its audit entry (ids and codes only, never the texts) and changes nothing when it refuses.

- ``partner_request_create``: staff with ``partners.request`` on the unit describe what they need.
- ``partner_request_address``: the requester sends it to partners chosen from the matches offered
  for it (recomputed here — the form is not trusted): any id that is malformed, unknown, of a
  partner not offered for this request or already addressed refuses the whole selection.
- ``partner_reply``: a partner answers a request addressed to it (interested or declined, with a
  short message; interested needs one), again while the request is open.
- ``partner_request_close``: the requester closes it; partners can read it but no longer answer.

Partners' logins hear of a new request by a content-free e-mail ("a request is waiting") to their
verified addresses, sent after the commit.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.organizations.models import Node
from wegweiser.partners import matching
from wegweiser.partners.access import may_request_for
from wegweiser.partners.models import (
    BUDGET_MAX,
    DESCRIPTION_MAX,
    REGION_LABELS,
    REPLY_MAX,
    TITLE_MAX,
    PartnerMember,
    PartnerRequest,
    RequestRecipient,
    Specialty,
)
from wegweiser.partners.selectors import offered_matches
from wegweiser.partners.validation import clean_codes, clean_text, refuse


def partner_request_create(
    *,
    actor: Any,
    organization: Node,
    title: str,
    description: str,
    specialties: list[str],
    region: str,
    budget_note: str = "",
) -> PartnerRequest:
    title = clean_text(title, field="title", label=_("Title"), maximum=TITLE_MAX)
    description = clean_text(description, field="description", label=_("What do you need?"),
                             maximum=DESCRIPTION_MAX)
    budget_note = clean_text(budget_note, field="budget_note", label=_("Budget"), maximum=BUDGET_MAX,
                             required=False)
    specialties = clean_codes(specialties, field="specialties", allowed=Specialty.values,
                              required=_("Choose at least one specialty."))
    if region not in REGION_LABELS:
        raise refuse("region", _("Choose a region."), "bad_region")
    if not may_request_for(actor, organization):
        raise refuse("organization", _("Choose one of your own organization units."), "bad_unit")
    with transaction.atomic():
        partner_request = PartnerRequest.objects.create(
            organization=organization,
            created_by=actor,
            title=title,
            description=description,
            specialties=specialties,
            region=region,
            budget_note=budget_note,
        )
        audit_record(
            actor=actor,
            action="partners.request_created",
            node=organization,
            obj=partner_request,
            data={"specialties": specialties, "region": region},
        )
    return partner_request


def _not_offered() -> ValidationError:
    return refuse(
        "partners",
        _("At least one chosen partner is not among the partners offered for this request. "
          "Nothing was sent; please choose again from the list."),
        "not_offered",
    )


def partner_request_address(
    *, actor: Any, partner_request: PartnerRequest, partner_ids: list[str]
) -> list[RequestRecipient]:
    """Send the request to the chosen partners, all of them or none."""
    if not may_request_for(actor, partner_request.organization):
        raise PermissionDenied
    chosen: list[uuid.UUID] = []
    for value in partner_ids or []:
        try:
            chosen.append(uuid.UUID(str(value)))
        except ValueError:
            raise _not_offered() from None
    if not chosen:
        raise refuse("partners", _("Choose at least one partner."), "required")
    if len(set(chosen)) > matching.MATCH_LIMIT:
        raise _not_offered()
    with transaction.atomic():
        locked = PartnerRequest.objects.select_for_update().get(pk=partner_request.pk)
        if not locked.is_open:
            raise refuse("partners", _("This request is closed."), "closed")
        offered = {m.partner.public_id: m.partner for m in offered_matches(locked)}
        if any(public_id not in offered for public_id in chosen):
            raise _not_offered()
        partners = [offered[public_id] for public_id in dict.fromkeys(chosen)]
        already = set(
            RequestRecipient.objects.filter(request=locked, partner__in=partners)
            .values_list("partner__public_id", flat=True)
        )
        if already:
            raise refuse("partners", _("This request was already sent to at least one chosen partner. "
                                       "Nothing was sent."), "already_sent")
        recipients = RequestRecipient.objects.bulk_create(
            [RequestRecipient(request=locked, partner=partner) for partner in partners]
        )
        audit_record(
            actor=actor,
            action="partners.request_addressed",
            node=locked.organization,
            obj=locked,
            data={"partners": [str(partner.public_id) for partner in partners]},
        )
        member_ids = list(
            PartnerMember.objects.filter(partner__in=partners, user__is_active=True)
            .values_list("user_id", flat=True)
        )
        transaction.on_commit(lambda: _tell_partners(member_ids))
    return recipients


def _tell_partners(user_ids: list[int]) -> None:
    """The content-free e-mail to the partners' logins: that a request waits, never what."""
    from wegweiser.accounts.models import User
    from wegweiser.core.mail import send_quietly, user_language, verified_emails

    if not user_ids:
        return
    addresses = verified_emails(user_ids, primary_only=True)
    connection = mail.get_connection()
    for user in User.objects.filter(pk__in=list(addresses)):
        with translation.override(user_language(user)):
            subject = _("A new request is waiting for you in %(site)s") % {"site": settings.SITE_NAME}
            body = _("An organization has sent you a request in %(site)s.") % {"site": settings.SITE_NAME}
            body += "\n\n" + _("Log in and open your partner inbox to read it.") + "\n"
        send_quietly(connection, to=addresses[user.pk], subject=subject, body=body)


def partner_request_close(*, actor: Any, partner_request: PartnerRequest) -> PartnerRequest:
    if not may_request_for(actor, partner_request.organization):
        raise PermissionDenied
    with transaction.atomic():
        locked = PartnerRequest.objects.select_for_update().get(pk=partner_request.pk)
        if not locked.is_open:
            raise ValidationError(_("This request is already closed."), code="closed")
        locked.status = PartnerRequest.Status.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(actor=actor, action="partners.request_closed", node=locked.organization, obj=locked)
    return locked


def partner_reply(*, actor: Any, recipient: RequestRecipient, status: str, message: str) -> RequestRecipient:
    """A partner's answer; it may be changed while the request is open."""
    if status not in (RequestRecipient.Status.INTERESTED, RequestRecipient.Status.DECLINED):
        raise refuse("status", _("Choose whether you are interested."), "bad_status")
    message = clean_text(
        message, field="message", label=_("Message"), maximum=REPLY_MAX,
        required=status == RequestRecipient.Status.INTERESTED,
    )
    if not PartnerMember.objects.filter(user_id=actor.pk, partner_id=recipient.partner_id).exists():
        raise PermissionDenied
    with transaction.atomic():
        locked = (
            RequestRecipient.objects.select_for_update(of=("self",))
            .select_related("request", "request__organization", "partner")
            .get(pk=recipient.pk)
        )
        if not locked.request.is_open:
            raise refuse("status", _("This request is closed: it can no longer be answered."), "closed")
        locked.status = status
        locked.reply = message
        locked.replied_at = timezone.now()
        locked.save(update_fields=["status", "reply", "replied_at"])
        audit_record(
            actor=actor,
            action="partners.request_answered",
            node=locked.request.organization,
            obj=locked.request,
            data={"partner": str(locked.partner.public_id), "status": status},
        )
    return locked
