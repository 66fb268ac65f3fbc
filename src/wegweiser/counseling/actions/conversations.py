"""Writes of the conversation life cycle: posting by form, read markers, enquiries, accepting,
closing, archiving, handover, absence, and the administration of topics and agencies. Each
function is atomic, checks what it needs, writes its audit entry (never any content) and sends
realtime events only after commit."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.counseling import e2e, events
from wegweiser.counseling.access import (
    agency_counselor_public_ids,
    can_write,
    counsel_agency_ids,
    is_client,
    role_in,
)
from wegweiser.counseling.actions.messages import (
    ConversationClosedError,
    PostItem,
    _system_message,
    messages_store,
    validate_body,
)
from wegweiser.counseling.models import (
    Absence,
    Agency,
    Conversation,
    ConversationKeyGrant,
    ConversationState,
    Handover,
    IdentityKey,
    Message,
    TeamKey,
    Topic,
)
from wegweiser.counseling.selectors import agency_offers, normalize_postcode
from wegweiser.organizations.access import Perm, has_perm


def system_post(conversation: Conversation, body: str) -> dict[str, Any] | None:
    """A system message (welcome, accepted, handed over, closed); delivered after commit."""
    message = _system_message(conversation.pk, conversation.public_id, body, timezone.now())
    if message:
        publish_messages([message])
    return message


def publish_messages(messages: list[dict[str, Any]], *, exclude: str = "") -> None:
    for message in messages:
        frame = {"type": "message", "conversation": message["conversation"], "message": message}
        events.send_on_commit(events.conversation_group(message["conversation"]),
                              events.frame_event(frame, exclude=exclude))


def _client_language(conversation: Conversation) -> str:
    return conversation.client.language or settings.LANGUAGE_CODE


def message_post(*, user: Any, conversation: Conversation, body: str,
                 client_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The form-post path (no JavaScript). Raises ValidationError with a clear message."""
    body = validate_body(body)
    if conversation.key_id:
        raise ValidationError(_("This conversation is end-to-end encrypted: messages are encrypted in "
                                "your browser. Please allow JavaScript and send again."),
                              code="encryption_required")
    if not can_write(user, conversation):
        raise ConversationClosedError(_("This conversation is closed; no more messages can be sent."),
                                 code="closed")
    with transaction.atomic():
        outcome = messages_store([PostItem(
            conversation_pk=conversation.pk, conversation_id=conversation.public_id, sender_pk=user.pk,
            sender_public_id=user.public_id, role=role_in(user, conversation), body=body,
            client_id=client_id,
        )])
        result = outcome.results[0]
        if result.error or result.message is None:
            raise ConversationClosedError(_("This conversation is closed; no more messages can be sent."),
                                     code="closed")
        if not result.duplicate:
            publish_messages([result.message])
        publish_messages(outcome.extra)
        _mark_read(user, conversation.pk, result.message["seq"])
    return result.message


# --- read markers -------------------------------------------------------------------------------

def _mark_read(user: Any, conversation_pk: int, seq: int) -> bool:
    state, created = ConversationState.objects.get_or_create(
        conversation_id=conversation_pk, user=user, defaults={"last_read_seq": seq})
    if created:
        return True
    return bool(ConversationState.objects.filter(pk=state.pk, last_read_seq__lt=seq)
                .update(last_read_seq=seq))


def read_marker_set(*, user: Any, conversation: Conversation, seq: int) -> int:
    """Move the user's read marker forward (never back, never past the last message)."""
    seq = max(0, min(int(seq), conversation.last_seq))
    with transaction.atomic():
        last = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True).get()
        seq = min(seq, last)
        if _mark_read(user, conversation.pk, seq):
            frame = {"type": "read", "conversation": str(conversation.public_id),
                     "user": str(user.public_id), "seq": seq}
            events.send_on_commit(events.conversation_group(conversation.public_id),
                                  events.frame_event(frame))
    return seq


# --- enquiries and the conversation life cycle ----------------------------------------------------

def enquiry_create(*, client: Any, agency: Agency, topic: Topic, body: str, postcode: str = "",
                   age: int | None = None, keys: e2e.EnquiryKeys | None = None) -> Conversation:
    """An enquiry, end-to-end encrypted when ``keys`` are given (the browser encrypted the
    first message and sealed the conversation key to the client and the agency's team key)."""
    if not is_client(client):
        raise PermissionDenied
    if keys is None:
        body = validate_body(body)
        if topic.encryption_required:
            raise ValidationError(_("Enquiries on this topic are accepted end-to-end encrypted only. "
                                    "Please allow JavaScript in your browser and send again."),
                                  code="encryption_required")
    if not agency_offers(agency, topic) or agency.is_external:
        raise ValidationError(_("This agency does not offer online counseling on this topic."))
    if agency.offline:
        raise ValidationError(_("This agency does not take new enquiries at the moment."))
    if postcode:
        postcode = normalize_postcode(postcode)
    elif topic.postcode_required:
        raise ValidationError(_("This topic needs your postcode to find an agency near you."))
    if topic.min_age and (age is None or age < topic.min_age):
        raise ValidationError(_("This topic is for people aged %(age)s and older.") % {"age": topic.min_age})
    if not topic.anonymous_allowed and not client.emailaddress_set.filter(verified=True).exists():
        raise ValidationError(_("This topic needs a confirmed e-mail address in your account."))
    with transaction.atomic():
        if Conversation.objects.filter(client=client, agency=agency, topic=topic,
                                       status=Conversation.Status.OPEN).exists():
            raise ValidationError(_("You already have an open enquiry on this topic with this agency."))
        now = timezone.now()
        identity, team_key = _enquiry_keys(client, agency, keys)
        conversation = Conversation.objects.create(
            agency=agency, topic=topic, client=client, postcode=postcode, age=age, last_seq=1,
            last_message_at=now, key_id=keys.key if keys else "",
        )
        if keys is not None and identity is not None and team_key is not None:
            Message.objects.create(conversation=conversation, seq=1, sender=client,
                                   sender_role=Message.Role.CLIENT, body=keys.message.ct,
                                   nonce=keys.message.iv, client_id=keys.client_id, sent_at=now)
            ConversationKeyGrant.objects.bulk_create([
                ConversationKeyGrant(conversation=conversation, user=client, recipient=identity.public,
                                     sealed=keys.client_grant),
                ConversationKeyGrant(conversation=conversation, team_key=team_key, recipient=team_key.public,
                                     sealed=keys.team_grant),
            ])
        else:
            Message.objects.create(conversation=conversation, seq=1, sender=client,
                                   sender_role=Message.Role.CLIENT, body=body, sent_at=now)
        ConversationState.objects.create(conversation=conversation, user=client, last_read_seq=1)
        if topic.welcome_message:
            system_post(conversation, topic.welcome_message)
            ConversationState.objects.filter(conversation=conversation, user=client).update(last_read_seq=2)
        audit_record(actor=client, action="enquiry.created", node=agency.node, obj=conversation,
                     data={"topic": str(topic.public_id), "encrypted": keys is not None})
        events.subscribe_on_commit(events.user_chat_group(client), conversation.public_id)
        events.inbox_changed_on_commit(agency_counselor_public_ids(agency))
    return conversation


def _enquiry_keys(client: Any, agency: Agency,
                  keys: e2e.EnquiryKeys | None) -> tuple[IdentityKey | None, TeamKey | None]:
    """The client's identity key and the agency's current team key an encrypted enquiry was
    sealed to (ValidationError when either is missing or the team key changed meanwhile)."""
    if keys is None:
        return None, None
    identity = IdentityKey.objects.filter(user=client).first()
    if identity is None:
        raise ValidationError(_("Set up your encryption key first."), code="missing")
    if Message.objects.filter(sender=client, client_id=keys.client_id).exists():
        raise e2e.malformed("client_id")
    team_key = TeamKey.objects.filter(agency=agency, retired_at__isnull=True).first()
    if team_key is None:
        raise ValidationError(_("This agency cannot receive encrypted enquiries yet."), code="no_team_key")
    if team_key.key_id != keys.team_key:
        raise ValidationError(_("The agency's key changed meanwhile. Please send your enquiry again."),
                              code="stale")
    return identity, team_key


def enquiry_accept(*, actor: Any, conversation: Conversation) -> Conversation:
    """Exactly one counselor wins: the conditional UPDATE succeeds only while still open."""
    if not has_perm(actor, Perm.COUNSEL, conversation.agency.node):
        raise PermissionDenied
    with transaction.atomic():
        now = timezone.now()
        won = Conversation.objects.filter(pk=conversation.pk, status=Conversation.Status.OPEN).update(
            status=Conversation.Status.ACTIVE, counselor=actor, accepted_at=now,
            team=conversation.topic.team_counseling,
        )
        if not won:
            raise ValidationError(_("Another counselor has already accepted this enquiry."), code="taken")
        conversation.refresh_from_db()
        ConversationState.objects.get_or_create(conversation=conversation, user=actor)
        audit_record(actor=actor, action="enquiry.accepted", node=conversation.agency.node,
                     obj=conversation)
        with translation.override(_client_language(conversation)):
            system_post(conversation, _("A counselor has taken on your enquiry."))
        events.subscribe_on_commit(events.user_chat_group(actor), conversation.public_id)
        if conversation.team:
            events.subscribe_on_commit(events.agency_chat_group(conversation.agency.node.public_id),
                                       conversation.public_id)
        # The enquiry leaves every colleague's open list and joins the actor's own.
        events.inbox_changed_on_commit(agency_counselor_public_ids(conversation.agency))
    return conversation


def conversation_close(*, actor: Any, conversation: Conversation) -> None:
    if conversation.status == Conversation.Status.CLOSED:
        return
    if role_in(actor, conversation) != "counselor" or not can_write(actor, conversation):
        raise PermissionDenied
    with transaction.atomic():
        with translation.override(_client_language(conversation)):
            system_post(conversation, _("The conversation was closed."))
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.CLOSED, closed_at=timezone.now())
        Handover.objects.filter(conversation=conversation, status=Handover.Status.REQUESTED).update(
            status=Handover.Status.CANCELLED, decided_at=timezone.now())
        audit_record(actor=actor, action="conversation.closed", node=conversation.agency.node,
                     obj=conversation)
        events.closed_on_commit(conversation.public_id)


def conversation_archive(*, actor: Any, conversation: Conversation, archived: bool) -> None:
    """Archiving is personal: it hides the conversation from the actor's own lists."""
    with transaction.atomic():
        state, _created = ConversationState.objects.get_or_create(conversation=conversation, user=actor)
        if state.archived != archived:
            state.archived = archived
            state.save(update_fields=["archived"])


SAFETY_CODE = re.compile(r"^\d{5} \d{5} \d{5} \d{5}$")


def safety_code_compared(*, actor: Any, conversation: Conversation, code: object) -> None:
    """The actor compared the safety code of an encrypted conversation with the other side (the
    code as the actor's browser computed it; personal, like archiving)."""
    if not conversation.key_id:
        raise ValidationError(_("This conversation is not end-to-end encrypted."), code="invalid")
    if not isinstance(code, str) or not SAFETY_CODE.match(code):
        raise ValidationError(_("A safety code has four groups of five digits."), code="invalid")
    with transaction.atomic():
        state, _created = ConversationState.objects.get_or_create(conversation=conversation, user=actor)
        if state.safety_code != code:
            state.safety_code = code
            state.save(update_fields=["safety_code"])
            audit_record(actor=actor, action="conversation.safety_code_compared",
                         node=conversation.agency.node, obj=conversation)


def handover_request(*, actor: Any, conversation: Conversation, to_counselor: Any) -> Handover:
    if conversation.counselor_id != actor.pk or conversation.status != Conversation.Status.ACTIVE:
        raise PermissionDenied
    if to_counselor.pk == actor.pk or conversation.agency_id not in counsel_agency_ids(to_counselor):
        raise ValidationError(_("Choose a colleague who counsels in this agency."))
    with transaction.atomic():
        if Handover.objects.filter(conversation=conversation, status=Handover.Status.REQUESTED).exists():
            raise ValidationError(_("A handover is already waiting for the client's answer."))
        handover = Handover.objects.create(conversation=conversation, from_counselor=actor,
                                           to_counselor=to_counselor)
        audit_record(actor=actor, action="handover.requested", node=conversation.agency.node,
                     obj=conversation, data={"to": str(to_counselor.public_id)})
        with translation.override(_client_language(conversation)):
            system_post(conversation, _("Your counselor asks whether a colleague may take over this "
                                        "conversation. Please answer on the conversation page."))
    return handover


def handover_answer(*, actor: Any, handover: Handover, consent: bool) -> Handover:
    """The client consents (the conversation moves) or declines (nothing changes)."""
    conversation = handover.conversation
    if conversation.client_id != actor.pk:
        raise PermissionDenied
    with transaction.atomic():
        updated = Handover.objects.filter(pk=handover.pk, status=Handover.Status.REQUESTED).update(
            status=Handover.Status.CONFIRMED if consent else Handover.Status.DECLINED,
            decided_at=timezone.now())
        if not updated:
            raise ValidationError(_("This request has already been answered."))
        handover.refresh_from_db()
        if consent:
            moved = Conversation.objects.filter(
                pk=conversation.pk, status=Conversation.Status.ACTIVE,
                counselor_id=handover.from_counselor_id,
            ).update(counselor=handover.to_counselor)
            if not moved:
                raise ValidationError(_("This conversation can no longer be handed over."))
            ConversationState.objects.get_or_create(conversation=conversation, user=handover.to_counselor)
            with translation.override(_client_language(conversation)):
                system_post(conversation, _("The conversation was handed over to another counselor."))
            events.subscribe_on_commit(events.user_chat_group(handover.to_counselor), conversation.public_id)
            if handover.from_counselor is not None:
                events.reload_on_commit(handover.from_counselor)
            events.inbox_changed_on_commit(
                [u.public_id for u in (handover.from_counselor, handover.to_counselor) if u is not None])
        audit_record(actor=actor, action="handover.confirmed" if consent else "handover.declined",
                     node=conversation.agency.node, obj=conversation,
                     data={"to": str(handover.to_counselor.public_id)})
    return handover


# --- absence ------------------------------------------------------------------------------------

def absence_set(*, actor: Any, starts_at: datetime, ends_at: datetime, message: str) -> Absence:
    if not counsel_agency_ids(actor):
        raise PermissionDenied
    if ends_at <= starts_at:
        raise ValidationError(_("The absence must end after it starts."))
    if not message.strip():
        raise ValidationError(_("Please write the message clients will see."))
    with transaction.atomic():
        absence, _created = Absence.objects.update_or_create(
            user=actor, defaults={"starts_at": starts_at, "ends_at": ends_at, "message": message})
        audit_record(actor=actor, action="absence.set", data={"from": starts_at.isoformat(),
                                                               "until": ends_at.isoformat()})
    return absence


def absence_clear(*, actor: Any) -> None:
    with transaction.atomic():
        if Absence.objects.filter(user=actor).delete()[0]:
            audit_record(actor=actor, action="absence.cleared")


# --- administration ------------------------------------------------------------------------------

def topic_save(*, actor: Any, organization: Any, form: Any) -> Topic:
    """Create or change a topic from a valid TopicForm (organization admins)."""
    if not has_perm(actor, Perm.MANAGE_TREE, organization):
        raise PermissionDenied
    fallback = form.cleaned_data.get("fallback_agency")
    if fallback is not None and not fallback.node.path.startswith(organization.path):
        raise PermissionDenied
    with transaction.atomic():
        created = form.instance.pk is None
        topic: Topic = form.save(commit=False)
        topic.organization = organization
        topic.save()
        audit_record(actor=actor, action="topic.created" if created else "topic.updated",
                     node=organization, obj=topic, data={"fields": sorted(form.changed_data)})
    return topic


def agency_save(*, actor: Any, node: Any, form: Any) -> Agency:
    """Agency settings and postcode ranges from a valid AgencyForm (organization admins)."""
    from wegweiser.counseling.models import PostcodeRange

    if not has_perm(actor, Perm.MANAGE_TREE, node):
        raise PermissionDenied
    allowed_topics = {t.pk for t in form.fields["topics"].queryset}
    if any(t.pk not in allowed_topics for t in form.cleaned_data["topics"]):
        raise PermissionDenied
    with transaction.atomic():
        agency: Agency = form.save(commit=False)
        agency.node = node
        agency.languages = list(form.cleaned_data.get("languages") or [])
        agency.save()
        form.save_m2m()
        agency.postcode_ranges.all().delete()
        PostcodeRange.objects.bulk_create(
            PostcodeRange(agency=agency, country=c, start=s, end=e)
            for c, s, e in form.cleaned_data["postcode_ranges"])
        audit_record(actor=actor, action="agency.updated", node=node, obj=agency,
                     data={"fields": sorted(form.changed_data)})
    return agency


def notifications_set(*, user: Any, enabled: bool) -> None:
    if user.email_notifications == enabled:
        return
    with transaction.atomic():
        user.email_notifications = enabled
        user.save(update_fields=["email_notifications"])
        audit_record(actor=user, action="notifications.changed", data={"email": enabled})
