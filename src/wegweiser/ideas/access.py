"""Who may see and do what in the needs & ideas pipeline. Every lookup of a user-supplied id goes
through an ``access_<noun>`` helper, which raises Http404 both when the object does not exist and
when the user may not see it.

- The **author's side** is every staff member of the federation (``ideas.submit`` anywhere in
  it): they read the board, submit, support, comment, follow, report, register for workshops
  and read improvement cycles. Moderated items are hidden from them, except from their author.
- The **triage side** is the competence centre (``ideas.triage``, held by the competence-centre
  role and federation admins) for the items of branches in its subtree, plus evaluators on the
  items assigned to them: internal notes, scores, evaluator assignments, stage changes,
  moderation, workshops and the federation overview.
- An improvement cycle is changed by the members of its team (``ideas.submit`` on the team unit).
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from wegweiser.ideas.models import EvaluatorAssignment, ImprovementCycle, Item, ItemAttachment, Pdsa, Workshop
from wegweiser.organizations.access import Perm, has_perm, memberships_with, parse_uuid, units_with_perm
from wegweiser.organizations.models import Node


def federation_paths(user: Any, perm: Perm = Perm.SUBMIT_IDEAS) -> set[str]:
    """Paths of the federations in which ``user`` holds ``perm`` somewhere."""
    return {m.node.federation_path for m in memberships_with(user, perm)}


def federations_for(user: Any) -> list[Node]:
    paths = federation_paths(user)
    return list(Node.objects.filter(path__in=paths).order_by("name")) if paths else []


def access_federation(user: Any, federation_id: object) -> Node:
    federation = Node.objects.filter(public_id=parse_uuid(federation_id), depth=1).first()
    if federation is None or federation.path not in federation_paths(user):
        raise Http404
    return federation


def triage_prefixes(user: Any, federation: Node) -> list[str]:
    """The subtrees of ``federation`` in which the user triages (empty: not on the triage side)."""
    return [
        m.node.path
        for m in memberships_with(user, Perm.TRIAGE_IDEAS)
        if m.node.path.startswith(federation.path)
    ]


def triage_q(prefixes: list[str], field: str = "branch") -> Q:
    if not prefixes:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{field}__path__startswith": p}) for p in prefixes))


def can_triage(user: Any, item: Item) -> bool:
    return has_perm(user, Perm.TRIAGE_IDEAS, item.branch)


def is_evaluator(user: Any, item: Item) -> bool:
    return EvaluatorAssignment.objects.filter(item=item, user_id=user.pk).exists()


def can_see_internal(user: Any, item: Item) -> bool:
    """Internal notes and scores: the competence centre over the item's branch and its evaluators."""
    return can_triage(user, item) or is_evaluator(user, item)


def can_moderate(user: Any, item: Item) -> bool:
    return can_triage(user, item)


def visible_items(user: Any, federation: Node) -> QuerySet[Item]:
    """The board's items for the author's side: the federation's, without moderated ones."""
    return Item.objects.filter(federation=federation, moderation=Item.Moderation.NONE)


def access_item(user: Any, item_id: object, *, for_update: bool = False) -> Item:
    queryset = Item.objects.select_related("federation", "branch", "stage", "author", "duplicate_of")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    item = queryset.filter(public_id=parse_uuid(item_id)).first()
    if item is None or item.federation.path not in federation_paths(user):
        raise Http404
    if item.is_hidden and item.author_id != user.pk and not can_moderate(user, item):
        raise Http404
    return item


def access_item_internal(user: Any, item_id: object, *, for_update: bool = False) -> Item:
    """The item's triage page: the competence centre and the item's evaluators."""
    item = access_item(user, item_id, for_update=for_update)
    if not can_see_internal(user, item):
        raise Http404
    return item


def access_item_triage(user: Any, item_id: object, *, for_update: bool = False) -> Item:
    item = access_item(user, item_id, for_update=for_update)
    if not can_triage(user, item):
        raise Http404
    return item


def access_attachment(user: Any, attachment_id: object) -> ItemAttachment:
    attachment = (
        ItemAttachment.objects.select_related("item").filter(public_id=parse_uuid(attachment_id)).first()
    )
    if attachment is None:
        raise Http404
    access_item(user, attachment.item.public_id)
    return attachment


def access_workshop(user: Any, workshop_id: object) -> Workshop:
    workshop = (
        Workshop.objects.select_related("federation", "organizer")
        .filter(public_id=parse_uuid(workshop_id))
        .first()
    )
    if workshop is None or workshop.federation.path not in federation_paths(user):
        raise Http404
    return workshop


def can_organize(user: Any, workshop: Workshop) -> bool:
    return has_perm(user, Perm.TRIAGE_IDEAS, workshop.organizer)


def access_workshop_organizer(user: Any, workshop_id: object) -> Workshop:
    workshop = access_workshop(user, workshop_id)
    if not can_organize(user, workshop):
        raise Http404
    return workshop


def access_cycle(user: Any, cycle_id: object) -> ImprovementCycle:
    cycle = (
        ImprovementCycle.objects.select_related("federation", "team", "item")
        .filter(public_id=parse_uuid(cycle_id))
        .first()
    )
    if cycle is None or cycle.federation.path not in federation_paths(user):
        raise Http404
    return cycle


def can_work_on_cycle(user: Any, cycle: ImprovementCycle) -> bool:
    return has_perm(user, Perm.SUBMIT_IDEAS, cycle.team)


def access_cycle_team(user: Any, cycle_id: object) -> ImprovementCycle:
    cycle = access_cycle(user, cycle_id)
    if not can_work_on_cycle(user, cycle):
        raise Http404
    return cycle


def access_pdsa_team(user: Any, cycle_id: object, pdsa_id: object) -> tuple[ImprovementCycle, Pdsa]:
    """A PDSA cycle of an improvement cycle the user's team works on."""
    cycle = access_cycle_team(user, cycle_id)
    pdsa = Pdsa.objects.filter(cycle=cycle, public_id=parse_uuid(pdsa_id)).first()
    if pdsa is None:
        raise Http404
    pdsa.cycle = cycle
    return cycle, pdsa


def units_with(user: Any, federation: Node, perm: Perm = Perm.SUBMIT_IDEAS) -> list[Node]:
    """The units of ``federation`` on which the user holds ``perm`` through a membership (for
    ideas.submit: the units a user may name as their own branch)."""
    return units_with_perm(user, perm, federation)
