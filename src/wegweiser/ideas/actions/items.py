"""The author's side: the federation's stages, submitting an item, support, comments, following,
attachments and reports. Every action is atomic, writes its audit entry (ids and codes only, no
text) and changes nothing when it refuses.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from wegweiser.core.audit import audit_record
from wegweiser.ideas.models import (
    SHORT_TEXT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Comment,
    FieldOfWork,
    Follow,
    Item,
    ItemAttachment,
    Notice,
    Report,
    ReportReason,
    Stage,
    StageKind,
    Support,
)
from wegweiser.organizations.models import Node

# The default pipeline (issue 6): Submitted → In review → Workshop → Prototype → Pilot → Rollout,
# closed as Done / Declined / Deferred / Duplicate. Federations rename, add and switch off stages.
DEFAULT_STAGES = [
    ("submitted", StageKind.OPEN, pgettext_lazy("idea stage", "Submitted")),
    ("review", StageKind.OPEN, pgettext_lazy("idea stage", "In review")),
    ("workshop", StageKind.ACTIVE, pgettext_lazy("idea stage", "Workshop")),
    ("prototype", StageKind.ACTIVE, pgettext_lazy("idea stage", "Prototype")),
    ("pilot", StageKind.ACTIVE, pgettext_lazy("idea stage", "Pilot")),
    ("rollout", StageKind.ACTIVE, pgettext_lazy("idea stage", "Rollout")),
    ("done", StageKind.DONE, pgettext_lazy("idea stage", "Done")),
    ("declined", StageKind.DECLINED, pgettext_lazy("idea stage", "Declined")),
    ("deferred", StageKind.DEFERRED, pgettext_lazy("idea stage", "Deferred")),
    ("duplicate", StageKind.DUPLICATE, pgettext_lazy("idea stage", "Duplicate")),
]


def _labels(text: Any) -> dict[str, str]:
    labels = {}
    for language in ("de", "sv", "en"):
        with translation.override(language):
            labels[f"label_{language}"] = str(text)
    return labels


def stages_ensure(*, federation: Node) -> list[Stage]:
    """The federation's stages, creating the default pipeline on first use."""
    stages = list(Stage.objects.filter(federation=federation))
    if stages:
        return stages
    with transaction.atomic():
        Node.objects.select_for_update().filter(pk=federation.pk).first()
        if not Stage.objects.filter(federation=federation).exists():
            Stage.objects.bulk_create(
                [
                    Stage(federation=federation, key=key, kind=kind, position=position, **_labels(label))
                    for position, (key, kind, label) in enumerate(DEFAULT_STAGES)
                ]
            )
            audit_record(
                actor=None,
                action="ideas.stages_created",
                node=federation,
                data={"keys": [key for key, _kind, _label in DEFAULT_STAGES]},
            )
    return list(Stage.objects.filter(federation=federation))


def clean_text(value: Any, *, label: str, maximum: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError(_("%(field)s: please fill this in.") % {"field": label}, code="required")
    if len(text) > maximum:
        raise ValidationError(
            _("%(field)s: at most %(max)s characters, you wrote %(count)s.")
            % {"field": label, "max": maximum, "count": len(text)},
            code="too_long",
        )
    return text


def _closed_error() -> ValidationError:
    return ValidationError(
        _("This item is closed: it can no longer be supported or commented on."), code="closed"
    )


def _check_unit(user: Any, federation: Node, branch: Node) -> None:
    from wegweiser.ideas.access import units_with

    if branch.pk not in {unit.pk for unit in units_with(user, federation)}:
        raise ValidationError(_("Choose one of your own units."), code="bad_branch")


def item_create(
    *,
    author: Any,
    federation: Node,
    branch: Node,
    kind: str,
    title: str,
    problem: str,
    affected: str,
    field: str,
    uploads: list[Any] | None = None,
) -> Item:
    """Submit a need or an idea; it starts in the first open stage and its author follows it."""
    title = clean_text(title, label=_("Title"), maximum=TITLE_MAX)
    problem = clean_text(problem, label=_("Problem"), maximum=TEXT_MAX)
    affected = clean_text(affected, label=_("Who is affected"), maximum=SHORT_TEXT_MAX, required=False)
    if kind not in Item.Kind.values:
        raise ValidationError(_("Choose whether this is a need or an idea."), code="bad_kind")
    if field not in FieldOfWork.values:
        raise ValidationError(_("Choose a field of work."), code="bad_field")
    _check_unit(author, federation, branch)
    uploads = uploads or []
    if len(uploads) > settings.IDEAS_ATTACHMENTS_PER_ITEM:
        raise ValidationError(
            _("At most %(count)s files per item.") % {"count": settings.IDEAS_ATTACHMENTS_PER_ITEM},
            code="too_many_files",
        )
    from wegweiser.counseling.attachments import checked_upload

    checked = [checked_upload(upload) for upload in uploads]  # refuses before anything is written
    stages = [s for s in stages_ensure(federation=federation) if s.is_active]
    first = next((s for s in stages if s.kind == StageKind.OPEN), None)
    if first is None:
        raise ValidationError(_("This federation's pipeline has no open stage."), code="no_stage")
    from wegweiser.counseling import files

    names = [files.new_storage_name() for _file in checked]
    with files.removed_on_error(*names), transaction.atomic():
        item = Item.objects.create(
            federation=federation,
            branch=branch,
            author=author,
            kind=kind,
            title=title,
            problem=problem,
            affected=affected,
            field=field,
            stage=first,
            stage_changed_at=timezone.now(),
        )
        Follow.objects.create(item=item, user=author)
        audit_record(
            actor=author,
            action="ideas.item_created",
            node=branch,
            obj=item,
            data={"kind": kind, "field": field, "files": len(checked)},
        )
        for name, (data, content_type, filename) in zip(names, checked, strict=True):
            _store_attachment(
                user=author,
                item=item,
                data=data,
                content_type=content_type,
                filename=filename,
                storage_name=name,
            )
    return item


def item_edit(*, author: Any, item: Item, title: str, problem: str, affected: str, field: str) -> Item:
    """The author corrects the text while the item is still open (before the competence centre
    took it further); the audit entry names the changed fields."""
    title = clean_text(title, label=_("Title"), maximum=TITLE_MAX)
    problem = clean_text(problem, label=_("Problem"), maximum=TEXT_MAX)
    affected = clean_text(affected, label=_("Who is affected"), maximum=SHORT_TEXT_MAX, required=False)
    if field not in FieldOfWork.values:
        raise ValidationError(_("Choose a field of work."), code="bad_field")
    with transaction.atomic():
        item = _locked(item)
        if item.author_id != author.pk:
            raise ValidationError(_("Only the author can change the text."), code="not_author")
        if item.stage.kind != StageKind.OPEN or item.moderation == Item.Moderation.REMOVED:
            raise ValidationError(
                _(
                    "This item is being worked on or closed: its text can no longer change. "
                    "Add a comment instead."
                ),
                code="not_open",
            )
        new = {"title": title, "problem": problem, "affected": affected, "field": field}
        changed = sorted(name for name, value in new.items() if getattr(item, name) != value)
        if changed:
            for name, value in new.items():
                setattr(item, name, value)
            item.save(update_fields=[*new, "updated_at"])
            audit_record(
                actor=author, action="ideas.item_edited", node=item.branch, obj=item, data={"fields": changed}
            )
    return item


def _store_attachment(
    *, user: Any, item: Item, data: bytes, content_type: str, filename: str, storage_name: str
) -> ItemAttachment:
    """The row, then the encrypted file; the caller removes the file when its transaction fails."""
    from wegweiser.counseling import files

    attachment = ItemAttachment.objects.create(
        item=item,
        uploaded_by=user,
        storage_name=storage_name,
        filename=filename,
        content_type=content_type,
        size=len(data),
    )
    files.encrypt_to_storage(storage_name, data)
    audit_record(
        actor=user,
        action="ideas.attachment_added",
        node=item.branch,
        obj=attachment,
        data={"size": len(data), "type": content_type},
    )
    return attachment


def attachment_add(*, user: Any, item: Item, upload: Any) -> ItemAttachment:
    """The author adds a file later (same checks as counseling attachments)."""
    from wegweiser.counseling import files
    from wegweiser.counseling.attachments import checked_upload

    if item.author_id != user.pk:
        raise ValidationError(_("Only the author can add files."), code="not_author")
    data, content_type, filename = checked_upload(upload)
    storage_name = files.new_storage_name()
    with files.removed_on_error(storage_name), transaction.atomic():
        item = Item.objects.select_for_update().get(pk=item.pk)
        if item.attachments.count() >= settings.IDEAS_ATTACHMENTS_PER_ITEM:
            raise ValidationError(
                _("At most %(count)s files per item.") % {"count": settings.IDEAS_ATTACHMENTS_PER_ITEM},
                code="too_many_files",
            )
        return _store_attachment(
            user=user,
            item=item,
            data=data,
            content_type=content_type,
            filename=filename,
            storage_name=storage_name,
        )


def attachment_read(*, user: Any, attachment: ItemAttachment) -> bytes:
    from wegweiser.counseling import files

    data = files.decrypt_from_storage(attachment.storage_name)
    audit_record(
        actor=user, action="ideas.attachment_downloaded", node=attachment.item.branch, obj=attachment
    )
    return data


def _locked(item: Item) -> Item:
    return Item.objects.select_for_update(of=("self",)).select_related("stage", "branch").get(pk=item.pk)


def _recount(item: Item) -> None:
    Item.objects.filter(pk=item.pk).update(support_count=Support.objects.filter(item=item).count())


def item_support(*, user: Any, item: Item, branch: Node) -> Support:
    """ "We need this too": once per person, not on one's own item, not on a closed item."""
    _check_unit(user, item.federation, branch)
    with transaction.atomic():
        item = _locked(item)
        if item.is_closed or item.is_hidden:
            raise _closed_error()
        if item.author_id == user.pk:
            raise ValidationError(
                _("You submitted this item yourself; it counts for your unit already."), code="own_item"
            )
        try:
            with transaction.atomic():
                support = Support.objects.create(item=item, user=user, branch=branch)
        except IntegrityError:
            raise ValidationError(_("You support this item already."), code="twice") from None
        Item.objects.filter(pk=item.pk).update(support_count=F("support_count") + 1)
        Follow.objects.get_or_create(item=item, user=user)
        audit_record(actor=user, action="ideas.item_supported", node=branch, obj=item)
    return support


def item_unsupport(*, user: Any, item: Item) -> None:
    with transaction.atomic():
        item = _locked(item)
        if item.is_closed:
            raise _closed_error()
        deleted, _rows = Support.objects.filter(item=item, user=user).delete()
        if not deleted:
            raise ValidationError(_("You do not support this item."), code="not_supported")
        _recount(item)
        audit_record(actor=user, action="ideas.item_unsupported", node=item.branch, obj=item)


def item_follow(*, user: Any, item: Item, follow: bool) -> None:
    with transaction.atomic():
        if follow:
            Follow.objects.get_or_create(item=item, user=user)
        else:
            Follow.objects.filter(item=item, user=user).delete()


def comment_create(*, author: Any, item: Item, branch: Node, text: str) -> Comment:
    text = clean_text(text, label=_("Comment"), maximum=TEXT_MAX)
    _check_unit(author, item.federation, branch)
    with transaction.atomic():
        item = _locked(item)
        if item.is_closed or item.is_hidden:
            raise _closed_error()
        comment = Comment.objects.create(item=item, author=author, branch=branch, text=text)
        Item.objects.filter(pk=item.pk).update(comment_count=F("comment_count") + 1)
        Follow.objects.get_or_create(item=item, user=author)
        notify_followers(item, Notice.Kind.COMMENT, exclude=author)
        audit_record(
            actor=author,
            action="ideas.comment_created",
            node=branch,
            obj=comment,
            data={"item": str(item.public_id)},
        )
    return comment


def notify_followers(item: Item, kind: str, *, exclude: Any = None) -> int:
    """A notice for every follower but the one who caused it (inside the caller's transaction)."""
    followers = Follow.objects.filter(item=item)
    if exclude is not None:
        followers = followers.exclude(user_id=exclude.pk)
    notices = [
        Notice(user_id=user_id, item=item, kind=kind)
        for user_id in followers.values_list("user_id", flat=True)
    ]
    Notice.objects.bulk_create(notices)
    return len(notices)


def notices_read(*, user: Any) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def item_report(*, reporter: Any, item: Item, reason: str) -> Report:
    """One report per person and item; the item is hidden pending review after
    ``IDEAS_REPORTS_TO_HIDE`` reports."""
    if reason not in ReportReason.values:
        raise ValidationError(_("Choose a reason for the report."), code="bad_reason")
    with transaction.atomic():
        item = _locked(item)
        if item.author_id == reporter.pk:
            raise ValidationError(_("You cannot report your own item."), code="own_item")
        if item.is_hidden:
            raise ValidationError(_("This item is already hidden and waits for a moderator."), code="hidden")
        try:
            with transaction.atomic():
                report = Report.objects.create(item=item, reporter=reporter, reason=reason)
        except IntegrityError:
            raise ValidationError(_("You have reported this item already."), code="twice") from None
        count = item.report_count + 1
        hide = count >= settings.IDEAS_REPORTS_TO_HIDE
        Item.objects.filter(pk=item.pk).update(
            report_count=count, **({"moderation": Item.Moderation.PENDING} if hide else {})
        )
        audit_record(
            actor=reporter,
            action="ideas.item_reported",
            node=item.branch,
            obj=item,
            data={"reason": reason, "count": count},
        )
        if hide:
            audit_record(
                actor=None,
                action="ideas.item_hidden_automatically",
                node=item.branch,
                obj=item,
                data={"reports": count},
            )
    return report
