"""Writes to the organization tree. Every function is atomic and writes its audit entry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.organizations.access import Perm, forget, grantable_roles, has_perm
from wegweiser.organizations.models import Membership, Node, NodeKind
from wegweiser.realtime import access_changed_on_commit


def federation_create(*, actor: Any, name: str) -> Node:
    """Only for operators (CLI) and the demo: a new root of the tree."""
    with transaction.atomic():
        node = Node.objects.add_root(create_kwargs={"name": name, "kind": NodeKind.FEDERATION})
        audit_record(actor=actor, action="node.created", node=node, obj=node,
                     data={"kind": node.kind})
    return node


def node_create(*, actor: Any, parent: Node, name: str, kind: str) -> Node:
    if actor is not None and not has_perm(actor, Perm.MANAGE_TREE, parent):
        raise PermissionDenied
    if kind == NodeKind.FEDERATION:
        raise ValidationError(_("A federation cannot be placed inside another unit."))
    with transaction.atomic():
        parent = Node.objects.select_for_update().get(pk=parent.pk)
        node = Node.objects.add_child(parent, create_kwargs={"name": name, "kind": kind})
        audit_record(actor=actor, action="node.created", node=node, obj=node,
                     data={"kind": kind, "parent": str(parent.public_id)})
    return node


def node_update(*, actor: Any, node: Node, name: str, kind: str, is_active: bool) -> Node:
    if not has_perm(actor, Perm.MANAGE_TREE, node):
        raise PermissionDenied
    if (kind == NodeKind.FEDERATION) != node.is_root():
        raise ValidationError(_("Only the top of the tree is a federation."))
    if node.is_root() and not is_active:
        raise ValidationError(_("A federation cannot be deactivated here."))
    changed = [
        field for field, value in (("name", name), ("kind", kind), ("is_active", is_active))
        if getattr(node, field) != value
    ]
    if not changed:
        return node
    with transaction.atomic():
        node.name, node.kind, node.is_active = name, kind, is_active
        node.save(update_fields=changed)
        audit_record(actor=actor, action="node.updated", node=node, obj=node,
                     data={"fields": changed})
        if "is_active" in changed:
            # Roles on the unit and below it lapse or return, and so do its agencies for the
            # roles above it: every such member's open sockets recompute what they receive.
            affected = Membership.objects.filter(
                Q(node__path__startswith=node.path) | Q(node__path__in=node.ancestor_paths)
            ).select_related("user")
            for user in {m.user_id: m.user for m in affected}.values():
                access_changed_on_commit(user)
    return node


def membership_create(*, actor: Any, node: Node, user: Any, role: str) -> Membership:
    if actor is not None and role not in grantable_roles(actor, node):
        raise PermissionDenied
    if user.kind != get_user_model().Kind.STAFF:
        raise ValidationError(_("Client accounts cannot be given staff roles."))
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(user=user, node=node, role=role)
        if not created:
            raise ValidationError(_("This person already has this role here."))
        audit_record(actor=actor, action="membership.created", node=node, obj=membership,
                     data={"user": str(user.public_id), "role": role})
        access_changed_on_commit(user)
    forget(user)
    return membership


def membership_delete(*, actor: Any, membership: Membership) -> None:
    if membership.role not in grantable_roles(actor, membership.node):
        raise PermissionDenied
    if membership.user_id == actor.pk:
        raise ValidationError(_("You cannot remove your own role; ask another admin."))
    with transaction.atomic():
        audit_record(actor=actor, action="membership.deleted", node=membership.node,
                     obj=membership,
                     data={"user": str(membership.user.public_id), "role": membership.role})
        membership.delete()
        access_changed_on_commit(membership.user)
    forget(membership.user)


def audit_log_read(*, actor: Any, page_number: int) -> None:
    """Who looked at the audit log is itself audited."""
    audit_record(actor=actor, action="audit.viewed", data={"page": page_number})
