from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from wegweiser.organizations.access import Perm, nodes_with_perm
from wegweiser.organizations.models import Membership, Node


def node_list_for_user(user: Any) -> QuerySet[Node]:
    """The nodes a staff member may see, in tree order (path order is depth-first)."""
    return nodes_with_perm(user, Perm.VIEW_NODE).order_by("path")


def membership_list_for_node(node: Node) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(node=node)
        .select_related("user")
        .order_by("user__username", "role")
    )


def membership_list_for_user(user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("node").order_by("node__path")
