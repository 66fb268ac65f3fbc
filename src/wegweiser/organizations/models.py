"""The organization tree (federation → region → branch → agency, any depth) and memberships.

The tree is a materialized path (django-treebeard's MP_Node): a subtree is one indexed
``path LIKE 'prefix%'`` query, which is what every permission check needs.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node


class NodeKind(models.TextChoices):
    FEDERATION = "federation", _("Federation")
    REGION = "region", _("Regional association")
    BRANCH = "branch", _("Branch")
    AGENCY = "agency", _("Agency")
    UNIT = "unit", _("Unit")


class Node(MP_Node):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=NodeKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)


    class Meta:
        verbose_name = _("organization unit")
        verbose_name_plural = _("organization units")

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_paths(self) -> list[str]:
        """Materialized paths of this node and every ancestor, root first."""
        return [self.path[:i] for i in range(self.steplen, len(self.path) + 1, self.steplen)]

    @property
    def federation_path(self) -> str:
        return str(self.path[: self.steplen])


class Role(models.TextChoices):
    COUNSELOR = "counselor", _("Counselor")
    CASE_WORKER = "case_worker", _("Case worker (benefits)")
    INNOVATION = "innovation", _("Competence centre (needs and ideas)")
    AGENCY_LEAD = "agency_lead", _("Agency lead")
    ORG_ADMIN = "org_admin", _("Organization admin")
    FEDERATION_ADMIN = "federation_admin", _("Federation admin")
    STAFF = "staff", _("Staff member")


class Membership(models.Model):
    """A role on a node; it applies to the node's whole subtree."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "node", "role"], name="membership_unique_role")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user_id}@{self.node_id}:{self.role}"
