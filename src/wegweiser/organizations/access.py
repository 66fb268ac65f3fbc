"""Every permission decision of Wegweiser, in one module.

A permission is granted by a role on a node and applies to that node's subtree. Nothing is
granted across federations, because no subtree spans two roots. Staff permissions — all of
which can lead to client data — also require that the user has set up TOTP two-factor
authentication; until then a staff member holds no permission at all.

Access helpers (``access_<noun>``) return the object or raise Http404 both when it does not
exist and when the user may not see it, so ids reveal nothing.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from wegweiser.organizations.models import Membership, Node, Role


class Perm(StrEnum):
    VIEW_NODE = "org.view_node"
    MANAGE_TREE = "org.manage_tree"
    MANAGE_MEMBERS = "org.manage_members"
    VIEW_AUDIT = "audit.view"
    COUNSEL = "counseling.counsel"
    LEAD_AGENCY = "counseling.lead_agency"
    DECIDE_BENEFITS = "benefits.decide"
    SET_BENEFIT_POLICY = "benefits.set_policy"
    SIMULATE_BENEFITS = "benefits.simulate"
    SUBMIT_IDEAS = "ideas.submit"
    TRIAGE_IDEAS = "ideas.triage"
    REQUEST_PARTNERS = "partners.request"
    MANAGE_PARTNERS = "partners.manage"
    RUN_SELF_CHECK = "maturity.run"


_EVERY_STAFF = {Perm.VIEW_NODE, Perm.SUBMIT_IDEAS}
ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.STAFF: frozenset(_EVERY_STAFF),
    Role.COUNSELOR: frozenset(_EVERY_STAFF | {Perm.COUNSEL}),
    Role.CASE_WORKER: frozenset(_EVERY_STAFF | {Perm.DECIDE_BENEFITS}),
    Role.INNOVATION: frozenset(_EVERY_STAFF | {Perm.TRIAGE_IDEAS}),
    Role.AGENCY_LEAD: frozenset(_EVERY_STAFF | {Perm.COUNSEL, Perm.LEAD_AGENCY, Perm.DECIDE_BENEFITS,
                                                Perm.SET_BENEFIT_POLICY, Perm.RUN_SELF_CHECK,
                                                Perm.REQUEST_PARTNERS}),
    Role.ORG_ADMIN: frozenset(
        _EVERY_STAFF | {Perm.MANAGE_TREE, Perm.MANAGE_MEMBERS, Perm.VIEW_AUDIT, Perm.SIMULATE_BENEFITS,
                        Perm.RUN_SELF_CHECK, Perm.REQUEST_PARTNERS}
    ),
    Role.FEDERATION_ADMIN: frozenset(
        _EVERY_STAFF | {Perm.MANAGE_TREE, Perm.MANAGE_MEMBERS, Perm.VIEW_AUDIT, Perm.SIMULATE_BENEFITS,
                        Perm.TRIAGE_IDEAS, Perm.RUN_SELF_CHECK, Perm.REQUEST_PARTNERS, Perm.MANAGE_PARTNERS}
    ),
}

# Which roles a holder of a role may hand out (within their own subtree): nobody can grant
# more than they hold, and only federation admins create federation admins.
GRANTABLE_ROLES: dict[str, frozenset[str]] = {
    Role.FEDERATION_ADMIN: frozenset(Role.values),
    Role.ORG_ADMIN: frozenset(Role.values) - {Role.FEDERATION_ADMIN},
}


def has_mfa(user: Any) -> bool:
    """TOTP is the factor every staff member must have; passkeys may be added on top."""
    if not getattr(user, "is_authenticated", False):
        return False
    from allauth.mfa.models import Authenticator

    cached = getattr(user, "_wegweiser_has_totp", None)
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user._wegweiser_has_totp = cached
    return bool(cached)


def is_staff_member(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and Membership.objects.filter(user=user).exists()
    )


def _memberships(user: Any) -> list[Membership]:
    """The user's memberships, or none at all if the user may not act as staff yet."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or not has_mfa(user):
        return []
    cached = getattr(user, "_wegweiser_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user, node__is_active=True)
                      .select_related("node"))
        user._wegweiser_memberships = cached
    return list(cached)


def memberships_with(user: Any, perm: Perm) -> list[Membership]:
    """The memberships through which ``user`` holds ``perm`` (none without TOTP)."""
    return [m for m in _memberships(user) if perm in ROLE_PERMS[m.role]]


def units_with_perm(user: Any, perm: Perm, within: Node | None = None) -> list[Node]:
    """The nodes of the user's memberships that grant ``perm`` (inside ``within`` when given),
    each once, in tree order: what a form offers as "your unit"."""
    seen: dict[int, Node] = {}
    for m in memberships_with(user, perm):
        if within is None or m.node.path.startswith(within.path):
            seen.setdefault(m.node.pk, m.node)
    return sorted(seen.values(), key=lambda node: node.path)


def roles_on(user: Any, node: Node) -> set[str]:
    """Roles the user holds on ``node`` through the node itself or any ancestor."""
    return {m.role for m in _memberships(user) if node.path.startswith(m.node.path)}


def has_perm(user: Any, perm: Perm, node: Node) -> bool:
    return any(perm in ROLE_PERMS[role] for role in roles_on(user, node))


def grantable_roles(user: Any, node: Node) -> list[str]:
    allowed: set[str] = set()
    for role in roles_on(user, node):
        allowed |= GRANTABLE_ROLES.get(role, frozenset())
    return [value for value in Role.values if value in allowed]


def nodes_with_perm(user: Any, perm: Perm) -> QuerySet[Node]:
    """Every node on which ``user`` holds ``perm`` (the subtrees of the granting memberships)."""
    prefixes = {m.node.path for m in _memberships(user) if perm in ROLE_PERMS[m.role]}
    if not prefixes:
        return Node.objects.none()
    return Node.objects.filter(reduce(or_, (Q(path__startswith=p) for p in prefixes)))


def parse_uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


def access_node(user: Any, node_id: object, perm: Perm = Perm.VIEW_NODE) -> Node:
    node = Node.objects.filter(public_id=parse_uuid(node_id)).first()
    if node is None or not has_perm(user, perm, node):
        raise Http404
    return node


def access_membership(user: Any, membership_id: object) -> Membership:
    membership = (
        Membership.objects.select_related("node", "user")
        .filter(public_id=parse_uuid(membership_id))
        .first()
    )
    if membership is None or not has_perm(user, Perm.MANAGE_MEMBERS, membership.node):
        raise Http404
    return membership


def forget(user: Any) -> None:
    """Drop the per-request permission cache after the user's memberships or factors changed."""
    for attr in ("_wegweiser_memberships", "_wegweiser_has_totp"):
        if hasattr(user, attr):
            delattr(user, attr)
