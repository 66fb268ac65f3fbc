"""The competence centre's side: stage changes with their public answers, merging duplicates,
evaluators, internal notes, effort/impact scores, moderation and the federation's stage list.
The caller has checked access (``ideas.access``); the actions check the rules of the pipeline.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.ideas.actions.items import _locked, _recount, clean_text, notify_followers
from wegweiser.ideas.models import (
    TEXT_MAX,
    DeclineReason,
    EvaluatorAssignment,
    Follow,
    InternalNote,
    Item,
    Notice,
    Report,
    Stage,
    StageChange,
    StageKind,
    Support,
)
from wegweiser.organizations.models import Node


def item_move(
    *, actor: Any, item: Item, stage: Stage, answer: str, reason: str = "", duplicate_of: Item | None = None
) -> StageChange:
    """Move an item to ``stage`` (or answer it in its stage) with a public answer. A decline needs
    a reason; a duplicate needs its original, which receives the supporters and followers. The
    history keeps every step."""
    answer = clean_text(answer, label=_("Public answer"), maximum=TEXT_MAX)
    if stage.federation_id != item.federation_id or not stage.is_active:
        raise ValidationError(_("Choose one of the stages of this pipeline."), code="bad_stage")
    if stage.kind == StageKind.DECLINED:
        if reason not in DeclineReason.values:
            raise ValidationError(_("Declining needs a reason."), code="reason_required")
    else:
        reason = ""
    if stage.kind == StageKind.DUPLICATE:
        if duplicate_of is None:
            raise ValidationError(_("Name the item this one duplicates."), code="original_required")
        if (
            duplicate_of.pk == item.pk
            or duplicate_of.federation_id != item.federation_id
            or duplicate_of.is_hidden
            or duplicate_of.stage.kind == StageKind.DUPLICATE
        ):
            raise ValidationError(
                _("This item cannot be the original: choose another one that is not itself a duplicate."),
                code="bad_original",
            )
    else:
        duplicate_of = None
    with transaction.atomic():
        item = _locked(item)
        if item.stage.kind == StageKind.DUPLICATE and stage.kind != StageKind.DUPLICATE:
            raise ValidationError(
                _("This item was merged into another one; it cannot move on."), code="merged"
            )
        now = timezone.now()
        change = StageChange.objects.create(
            item=item,
            from_stage=item.stage,
            to_stage=stage,
            answer=answer,
            reason=reason,
            duplicate_of=duplicate_of,
            actor=actor,
            created_at=now,
        )
        moved = stage.pk != item.stage_id
        Item.objects.filter(pk=item.pk).update(
            stage=stage, duplicate_of=duplicate_of, **({"stage_changed_at": now} if moved else {})
        )
        notify_followers(item, Notice.Kind.STAGE, exclude=actor)
        merged = _merge(item, duplicate_of) if duplicate_of is not None else 0
        audit_record(
            actor=actor,
            action="ideas.item_moved" if moved else "ideas.item_answered",
            node=item.branch,
            obj=item,
            data={
                "from": item.stage.key,
                "to": stage.key,
                "reason": reason,
                **(
                    {"original": str(duplicate_of.public_id), "supports_moved": merged}
                    if duplicate_of is not None
                    else {}
                ),
            },
        )
    return change


def _merge(duplicate: Item, original: Item) -> int:
    """Supporters (and the duplicate's author) now support the original, unless they do already or
    wrote it; the rows remember where they came from. Followers follow the original too."""
    original = _locked(original)
    taken = set(Support.objects.filter(item=original).values_list("user_id", flat=True))
    if original.author_id is not None:
        taken.add(original.author_id)
    moved = 0
    for support in Support.objects.filter(item=duplicate).order_by("pk"):
        if support.user_id not in taken:
            Support.objects.filter(pk=support.pk).update(item=original, moved_from=duplicate)
            taken.add(support.user_id)
            moved += 1
    if duplicate.author_id and duplicate.author_id not in taken:
        Support.objects.create(
            item=original, user_id=duplicate.author_id, branch=duplicate.branch, moved_from=duplicate
        )
        moved += 1
    following = set(Follow.objects.filter(item=original).values_list("user_id", flat=True))
    Follow.objects.bulk_create(
        [
            Follow(item=original, user_id=user_id)
            for user_id in Follow.objects.filter(item=duplicate).values_list("user_id", flat=True)
            if user_id not in following
        ]
    )
    _recount(duplicate)
    _recount(original)
    notify_followers(duplicate, Notice.Kind.MERGED)
    return moved


def evaluator_assign(*, actor: Any, item: Item, user: Any) -> EvaluatorAssignment:
    from wegweiser.ideas.access import federation_paths

    if item.federation.path not in federation_paths(user):
        raise ValidationError(_("Evaluators must be staff of this federation."), code="bad_evaluator")
    with transaction.atomic():
        assignment, created = EvaluatorAssignment.objects.get_or_create(
            item=item, user=user, defaults={"assigned_by": actor}
        )
        if not created:
            raise ValidationError(_("This person evaluates the item already."), code="twice")
        audit_record(
            actor=actor,
            action="ideas.evaluator_assigned",
            node=item.branch,
            obj=item,
            data={"evaluator": str(user.public_id)},
        )
    return assignment


def evaluator_remove(*, actor: Any, item: Item, user: Any) -> None:
    with transaction.atomic():
        deleted, _rows = EvaluatorAssignment.objects.filter(item=item, user=user).delete()
        if not deleted:
            raise ValidationError(_("This person does not evaluate the item."), code="not_assigned")
        audit_record(
            actor=actor,
            action="ideas.evaluator_removed",
            node=item.branch,
            obj=item,
            data={"evaluator": str(user.public_id)},
        )


def note_add(*, author: Any, item: Item, text: str) -> InternalNote:
    text = clean_text(text, label=_("Internal note"), maximum=TEXT_MAX)
    with transaction.atomic():
        note = InternalNote.objects.create(item=item, author=author, text=text)
        audit_record(
            actor=author,
            action="ideas.note_added",
            node=item.branch,
            obj=note,
            data={"item": str(item.public_id)},
        )
    return note


def _score(value: Any, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 5:
        raise ValidationError(
            _("%(field)s: a whole number from 1 to 5.") % {"field": label}, code="bad_score"
        )
    return number


def item_score(*, actor: Any, item: Item, effort: Any, impact: Any) -> Item:
    effort_value, impact_value = _score(effort, _("Effort")), _score(impact, _("Impact"))
    with transaction.atomic():
        item = _locked(item)
        Item.objects.filter(pk=item.pk).update(effort=effort_value, impact=impact_value)
        audit_record(
            actor=actor,
            action="ideas.item_scored",
            node=item.branch,
            obj=item,
            data={"effort": effort_value, "impact": impact_value},
        )
        item.effort, item.impact = effort_value, impact_value
    return item


def moderation_decide(*, moderator: Any, item: Item, restore: bool) -> Item:
    """Restore a hidden item (its reports are dismissed) or remove it for good (it stays visible
    to its author and moderators, marked as removed)."""
    with transaction.atomic():
        item = _locked(item)
        if not item.is_hidden and not restore:
            raise ValidationError(_("Only reported items can be removed here."), code="not_hidden")
        if restore:
            dismissed, _rows = Report.objects.filter(item=item).delete()
            Item.objects.filter(pk=item.pk).update(moderation=Item.Moderation.NONE, report_count=0)
            audit_record(
                actor=moderator,
                action="ideas.item_restored",
                node=item.branch,
                obj=item,
                data={"reports_dismissed": dismissed},
            )
            item.moderation = Item.Moderation.NONE
        else:
            Item.objects.filter(pk=item.pk).update(moderation=Item.Moderation.REMOVED)
            audit_record(
                actor=moderator,
                action="ideas.item_removed",
                node=item.branch,
                obj=item,
                data={"reports": item.report_count},
            )
            item.moderation = Item.Moderation.REMOVED
    return item


def stage_save(
    *,
    actor: Any,
    federation: Node,
    stage: Stage | None,
    kind: str,
    label_de: str,
    label_sv: str,
    label_en: str,
    position: int,
    is_active: bool,
) -> Stage:
    """Add or change a stage. Its kind is fixed once it exists; a stage with items keeps being
    usable for them even when switched off; at least one open stage stays in use."""
    labels = {
        f"label_{lang}": clean_text(value, label=_("Name"), maximum=60)
        for lang, value in (("de", label_de), ("sv", label_sv), ("en", label_en))
    }
    if kind not in StageKind.values:
        raise ValidationError(_("Choose the kind of the stage."), code="bad_kind")
    with transaction.atomic():
        Node.objects.select_for_update().filter(pk=federation.pk).first()
        if stage is None:
            base = slugify(label_en)[:30] or "stage"
            key, n = base, 1
            while Stage.objects.filter(federation=federation, key=key).exists():
                n += 1
                key = f"{base}-{n}"
            stage = Stage(federation=federation, key=key, kind=kind)
            action = "ideas.stage_created"
        else:
            if stage.federation_id != federation.pk:
                raise ValidationError(_("Choose one of the stages of this pipeline."), code="bad_stage")
            if kind != stage.kind:
                raise ValidationError(_("The kind of an existing stage cannot change."), code="kind_fixed")
            action = "ideas.stage_changed"
        for name, value in labels.items():
            setattr(stage, name, value)
        stage.position, stage.is_active = max(0, min(int(position), 999)), bool(is_active)
        stage.save()
        if not Stage.objects.filter(federation=federation, kind=StageKind.OPEN, is_active=True).exists():
            raise ValidationError(
                _("At least one open stage must stay in use: new items start there."), code="no_open_stage"
            )
        audit_record(
            actor=actor,
            action=action,
            node=federation,
            obj=stage,
            data={"key": stage.key, "kind": kind, "active": stage.is_active},
        )
    return stage


def next_position(federation: Node) -> int:
    return (Stage.objects.filter(federation=federation).aggregate(m=Max("position"))["m"] or 0) + 1
