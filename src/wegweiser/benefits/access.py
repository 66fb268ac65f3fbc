"""Who may see which benefit application. Every lookup by a user-supplied id goes through here and
raises Http404 both when the object does not exist and when the user may not see it.

An application is seen by its applicant and by the case workers of its office (a role granting
``benefits.decide`` on the office's unit or above, with TOTP, see organizations.access).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from wegweiser.benefits.models import Application, BenefitOffice, Decision, Receipt
from wegweiser.organizations.access import Perm, has_perm, nodes_with_perm, parse_uuid


def open_offices() -> QuerySet[BenefitOffice]:
    return BenefitOffice.objects.filter(is_active=True, node__is_active=True).select_related("node")


def offices_with_perm(user: Any, perm: Perm) -> QuerySet[BenefitOffice]:
    return BenefitOffice.objects.filter(node__in=nodes_with_perm(user, perm)).select_related("node")


def access_office(user: Any, office_id: object, perm: Perm) -> BenefitOffice:
    office = BenefitOffice.objects.select_related("node").filter(public_id=parse_uuid(office_id)).first()
    if office is None or not has_perm(user, perm, office.node):
        raise Http404
    return office


def access_open_office(office_id: object) -> BenefitOffice:
    office = open_offices().filter(public_id=parse_uuid(office_id)).first()
    if office is None:
        raise Http404
    return office


def can_decide(user: Any, application: Application) -> bool:
    return has_perm(user, Perm.DECIDE_BENEFITS, application.office.node)


def access_application(user: Any, application_id: object, *, for_update: bool = False) -> Application:
    """The applicant's own application, or one of an office the user decides for."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    queryset = Application.objects.select_related("office__node", "applicant")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    application = queryset.filter(public_id=parse_uuid(application_id)).first()
    if application is None or not (application.applicant_id == user.pk or can_decide(user, application)):
        raise Http404
    return application


def access_own_application(user: Any, application_id: object, *, for_update: bool = False) -> Application:
    application = access_application(user, application_id, for_update=for_update)
    if application.applicant_id != user.pk:
        raise Http404
    return application


def access_application_to_decide(user: Any, application_id: object, *, for_update: bool = False
                                 ) -> Application:
    application = access_application(user, application_id, for_update=for_update)
    if not can_decide(user, application):
        raise Http404
    return application


def access_decision_to_approve(user: Any, decision_id: object) -> Decision:
    decision = (Decision.objects.select_related("application__office__node", "assessment")
                .filter(public_id=parse_uuid(decision_id)).first())
    if decision is None or not can_decide(user, decision.application):
        raise Http404
    return decision


def access_decision(user: Any, decision_id: object) -> Decision:
    """A decision, for its applicant and the office's case workers."""
    decision = (Decision.objects.select_related("application__office__node", "application__applicant",
                                                "assessment")
                .filter(public_id=parse_uuid(decision_id)).first())
    if decision is None or not getattr(user, "is_authenticated", False) or not (
            decision.application.applicant_id == user.pk or can_decide(user, decision.application)):
        raise Http404
    return decision


def access_receipt(user: Any, receipt_id: object) -> Receipt:
    """A receipt, for its applicant and the office's case workers."""
    receipt = (Receipt.objects.select_related("application__office__node")
               .filter(public_id=parse_uuid(receipt_id)).first())
    if receipt is None or not getattr(user, "is_authenticated", False) or not (
            receipt.application.applicant_id == user.pk or can_decide(user, receipt.application)):
        raise Http404
    return receipt
