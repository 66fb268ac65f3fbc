"""Who may see and do what in the partner directory. Every lookup of a user-supplied id goes
through an ``access_<noun>`` helper, which raises Http404 both when the object does not exist and
when the user may not see it.

- The **directory** (active partners and their profiles) is read by every staff member of every
  federation (``staff_required``): providers publish it themselves, it is no federation's data.
- **Requests** are posted for an organization unit by staff holding ``partners.request`` on it
  (agency leads, organization and federation admins) and read by everyone holding that permission
  on the request's unit or above it. Everybody else — other federations included — gets 404.
- **Partners** (accounts with a ``PartnerMember`` of an active partner and no organization
  membership) see only the requests addressed to their partner; never other partners' answers,
  the recipient list or unaddressed requests.
- **Managing the directory** (entries and partner logins) needs ``partners.manage`` anywhere
  (federation admins). The directory is shared, so this is not tied to a node.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any, cast

from django.db.models import Q, QuerySet
from django.http import Http404

from wegweiser.organizations.access import (
    Perm,
    has_perm,
    is_staff_member,
    memberships_with,
    parse_uuid,
    units_with_perm,
)
from wegweiser.organizations.models import Node
from wegweiser.partners.models import Partner, PartnerMember, PartnerRequest, RequestRecipient


def can_manage(user: Any) -> bool:
    return bool(memberships_with(user, Perm.MANAGE_PARTNERS))


def can_request(user: Any) -> bool:
    return bool(memberships_with(user, Perm.REQUEST_PARTNERS))


def request_units(user: Any) -> list[Node]:
    """The units a user may post a request for, as offered in the form: those of their memberships
    that grant ``partners.request`` (the action accepts any unit below them, too)."""
    return units_with_perm(user, Perm.REQUEST_PARTNERS)


def may_request_for(user: Any, unit: Node) -> bool:
    return unit.is_active and has_perm(user, Perm.REQUEST_PARTNERS, unit)


def visible_requests(user: Any) -> QuerySet[PartnerRequest]:
    """Requests of the units on which the user holds ``partners.request`` (their subtrees)."""
    prefixes = {m.node.path for m in memberships_with(user, Perm.REQUEST_PARTNERS)}
    if not prefixes:
        return PartnerRequest.objects.none()
    return PartnerRequest.objects.filter(
        reduce(or_, (Q(organization__path__startswith=prefix) for prefix in prefixes))
    )


def access_partner(user: Any, partner_id: object) -> Partner:
    """A directory entry for staff: active ones for everyone, inactive ones for managers only."""
    partner = Partner.objects.filter(public_id=parse_uuid(partner_id)).first()
    if partner is None or (not partner.is_active and not can_manage(user)):
        raise Http404
    return partner


def access_partner_manage(user: Any, partner_id: object) -> Partner:
    partner = Partner.objects.filter(public_id=parse_uuid(partner_id)).first()
    if partner is None or not can_manage(user):
        raise Http404
    return partner


def access_member(user: Any, partner: Partner, member_id: object) -> PartnerMember:
    member = (
        PartnerMember.objects.select_related("user")
        .filter(partner=partner, public_id=parse_uuid(member_id))
        .first()
    )
    if member is None or not can_manage(user):
        raise Http404
    return member


def access_request(user: Any, request_id: object, *, for_update: bool = False) -> PartnerRequest:
    queryset = PartnerRequest.objects.select_related("organization", "created_by")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    partner_request = queryset.filter(public_id=parse_uuid(request_id)).first()
    if partner_request is None or not has_perm(user, Perm.REQUEST_PARTNERS, partner_request.organization):
        raise Http404
    return partner_request


def partner_of(user: Any) -> Partner | None:
    """The active partner this account logs in for, or None. An account that also holds an
    organization membership is not treated as a partner: the two sides never mix."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if hasattr(user, "_wegweiser_partner"):
        return cast("Partner | None", user._wegweiser_partner)
    member = PartnerMember.objects.select_related("partner").filter(user=user).first()
    partner = member.partner if member is not None and member.partner.is_active else None
    if partner is not None and is_staff_member(user):
        partner = None
    user._wegweiser_partner = partner
    return partner


def inbox_for(partner: Partner) -> QuerySet[RequestRecipient]:
    return RequestRecipient.objects.filter(partner=partner).select_related(
        "request", "request__organization"
    )


def access_inbox_entry(partner: Partner, request_id: object) -> RequestRecipient:
    """A request addressed to ``partner`` — for any other request id, 404."""
    entry = inbox_for(partner).filter(request__public_id=parse_uuid(request_id)).first()
    if entry is None:
        raise Http404
    return entry
