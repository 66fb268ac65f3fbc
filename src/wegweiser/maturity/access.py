"""Who may see which self-check. A check is run for an organization unit by staff holding
``maturity.run`` there (agency leads, organization and federation admins); colleagues join by
the invitation link when they belong to the unit (a role on it, above it or inside it). A check
and its answers are seen by its respondents and by those who run checks for the unit; everyone
else gets 404, like for every other object.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from wegweiser.maturity.models import Check, Respondent
from wegweiser.organizations.access import Perm, has_perm, memberships_with, parse_uuid, units_with_perm
from wegweiser.organizations.models import Node


def units_to_run(user: Any) -> list[Node]:
    """The units a user may start a check for: where their memberships grant ``maturity.run``."""
    return units_with_perm(user, Perm.RUN_SELF_CHECK)


def belongs_to(user: Any, unit: Node) -> bool:
    """A role on the unit, on one of its ancestors, or inside it."""
    return any(
        m.node.path.startswith(unit.path) or unit.path.startswith(m.node.path)
        for m in memberships_with(user, Perm.VIEW_NODE)
    )


def can_run(user: Any, check: Check) -> bool:
    return has_perm(user, Perm.RUN_SELF_CHECK, check.organization)


def access_check(user: Any, check_id: object) -> Check:
    check = Check.objects.select_related("organization").filter(public_id=parse_uuid(check_id)).first()
    if check is None or not (
        can_run(user, check) or Respondent.objects.filter(check_run=check, user_id=user.pk or 0).exists()
    ):
        raise Http404
    return check


def access_check_runner(user: Any, check_id: object) -> Check:
    check = access_check(user, check_id)
    if not can_run(user, check):
        raise Http404
    return check


def access_invitation(user: Any, token: str) -> Check:
    """The open check an invitation link stands for, when the user belongs to its unit."""
    from wegweiser.maturity.actions import token_hash

    check = None
    if token and len(token) <= 100:
        check = (Check.objects.select_related("organization")
                 .filter(invite_token_hash=token_hash(token), closed_at__isnull=True).first())
    if check is None or not belongs_to(user, check.organization):
        raise Http404
    return check


def access_respondent(user: Any, check: Check) -> Respondent:
    respondent = Respondent.objects.filter(check_run=check, user_id=user.pk or 0).first()
    if respondent is None:
        raise Http404
    respondent.check_run = check
    return respondent
