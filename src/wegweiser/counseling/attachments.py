"""Sending and reading attachments. An attachment is a message (its body is the file name) plus
an Attachment row plus an encrypted file; all three exist together or not at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wegweiser.core.audit import audit_record
from wegweiser.counseling import actions, e2e, files
from wegweiser.counseling.access import can_write, role_in
from wegweiser.counseling.models import Attachment, Conversation, Message


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """The optional ``"attachment"`` key of a message dict."""
    return {
        "id": str(attachment.public_id),
        "name": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
    }


def _closed() -> ValidationError:
    return actions.ConversationClosedError(
        _("This conversation is closed; no more messages can be sent."), code="closed")


def _read_at_most(upload: UploadedFile, limit: int) -> bytes:
    upload.seek(0)
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        part = upload.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _check_daily_limit(user: Any) -> None:
    since = timezone.now() - timedelta(hours=24)
    limit = settings.ATTACHMENTS_PER_DAY
    if Attachment.objects.filter(uploaded_by=user, created_at__gte=since).count() >= limit:
        raise ValidationError(
            ngettext("You can send at most %(count)s file within 24 hours. Please try again later.",
                     "You can send at most %(count)s files within 24 hours. Please try again later.",
                     limit) % {"count": limit}, code="rate_limited")


def checked_upload(upload: UploadedFile, before_sniffing: Any = None) -> tuple[bytes, str, str]:
    """The upload's bytes, content type and cleaned file name, or a translated ValidationError
    when it is empty, larger than ATTACHMENT_MAX_BYTES, or not PDF, JPEG, PNG or DOCX by its
    content. The rules for every file a person gives Wegweiser (attachments, receipts)."""
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    data = _read_at_most(upload, max_bytes + 1)
    if not data:
        raise ValidationError(_("The file is empty."), code="empty")
    if len(data) > max_bytes:
        raise ValidationError(_("The file is larger than %(max)s.") % {"max": filesizeformat(max_bytes)},
                              code="too_large")
    if before_sniffing is not None:
        before_sniffing()
    kind = files.sniff(data[: files.HEAD_BYTES], data)
    if kind is None:
        raise ValidationError(_("This file type is not allowed. Allowed types: %(types)s.")
                              % {"types": files.ALLOWED_TYPES_LABEL}, code="file_type")
    content_type, extension = kind
    return data, content_type, files.clean_filename(upload.name, extension)


def attachment_upload(*, user: Any, conversation: Conversation, upload: UploadedFile) -> Attachment:
    """Check, store and announce one file. Raises ValidationError (and changes nothing) when the
    user may not write, the file is empty or too large, the daily limit is reached, or the
    content is not PDF, JPEG, PNG or DOCX."""
    if not can_write(user, conversation):
        raise _closed()
    if conversation.key_id:
        raise ValidationError(_("This conversation is end-to-end encrypted: files are encrypted in your "
                                "browser. Please allow JavaScript and send again."),
                              code="encryption_required")
    data, content_type, filename = checked_upload(upload, before_sniffing=lambda: _check_daily_limit(user))
    item = actions.PostItem(
        conversation_pk=conversation.pk, conversation_id=conversation.public_id,
        sender_pk=user.pk, sender_public_id=user.public_id, role=role_in(user, conversation),
        body=filename, client_id=None)
    return _store(user=user, conversation=conversation, item=item, data=data, filename=filename,
                  content_type=content_type)


# AES-GCM's IV in front and its tag behind (docs/e2e-protocol.md §6).
ENCRYPTION_OVERHEAD = 12 + 16


def encrypted_attachment_upload(*, user: Any, conversation: Conversation, upload: UploadedFile,
                                envelope: object, client_id: object) -> Attachment:
    """A file of an end-to-end encrypted conversation, encrypted in the browser: the server sees
    ciphertext only, so it checks size and the number of files per day (the browser checked the
    type); the message announcing it (name, type, size inside) is encrypted too."""
    import uuid

    if not can_write(user, conversation):
        raise _closed()
    if not conversation.key_id:
        raise ValidationError(_("This conversation is not end-to-end encrypted."), code="invalid")
    sealed = e2e.envelope(envelope)
    if sealed.key != conversation.key_id:
        raise e2e.malformed("encrypted.key")
    try:
        message_client_id = uuid.UUID(str(client_id))
    except ValueError:
        raise e2e.malformed("client_id") from None
    max_bytes = settings.ATTACHMENT_MAX_BYTES + ENCRYPTION_OVERHEAD
    data = _read_at_most(upload, max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(_("The file is larger than %(max)s.")
                              % {"max": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}, code="too_large")
    if len(data) <= ENCRYPTION_OVERHEAD:
        raise ValidationError(_("The file is empty."), code="empty")
    _check_daily_limit(user)
    item = actions.PostItem(
        conversation_pk=conversation.pk, conversation_id=conversation.public_id,
        sender_pk=user.pk, sender_public_id=user.public_id, role=role_in(user, conversation),
        body=sealed.ct, client_id=message_client_id, nonce=sealed.iv, key_id=conversation.key_id)
    return _store(user=user, conversation=conversation, item=item, data=data, filename="",
                  content_type="application/octet-stream")


def _store(*, user: Any, conversation: Conversation, item: actions.PostItem, data: bytes, filename: str,
           content_type: str) -> Attachment:
    storage_name = files.new_storage_name()
    written = False
    try:
        with transaction.atomic():
            # Concurrent uploads of one user queue here, so the limit holds under races (SQLite
            # serializes write transactions anyway).
            users = get_user_model().objects.select_for_update().filter(pk=user.pk)
            list(users.values_list("pk", flat=True))
            _check_daily_limit(user)
            outcome = actions.messages_store([item])
            result = outcome.results[0]
            if result.error == "replayed" or result.duplicate:
                raise ValidationError(_("This file was sent already."), code="invalid")
            if result.error or result.message is None:
                raise _closed()
            message_pk = Message.objects.filter(public_id=result.message["id"]).values_list(
                "pk", flat=True).get()
            attachment = Attachment.objects.create(
                message_id=message_pk, conversation=conversation, uploaded_by=user, filename=filename,
                content_type=content_type, size=len(data), storage_name=storage_name,
            )
            written = True  # set first: a write that fails half-way must be cleaned up too
            files.encrypt_to_storage(storage_name, data)
            audit_record(actor=user, action="attachment.uploaded", node=conversation.agency.node,
                         obj=attachment, data={"size": len(data), "type": content_type})
            actions._mark_read(user, conversation.pk, result.message["seq"])
            actions.publish_messages([{**result.message, "attachment": attachment_json(attachment)}])
            actions.publish_messages(outcome.extra)
    except BaseException:
        if written:
            files.delete_from_storage(storage_name)
        raise
    return attachment


def attachment_read(*, user: Any, attachment: Attachment) -> bytes:
    """The decrypted content, with an audit entry. The caller has checked access with
    ``access.access_attachment``."""
    data = files.decrypt_from_storage(attachment.storage_name)
    audit_record(actor=user, action="attachment.downloaded", node=attachment.conversation.agency.node,
                 obj=attachment)
    return data
