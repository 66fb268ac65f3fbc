"""Data protection and e-mail jobs of online counseling, run from cron (``purge``, ``notify``).

- ``purge``: deletes closed conversations after their topic's retention period and anonymous
  client accounts (no verified e-mail address) that have been inactive for
  ``ANONYMOUS_ACCOUNT_RETENTION_DAYS``. Works in batches, one transaction each, so a large
  backlog never loads at once; attachment files are removed after the batch has committed.
- ``notify_new_messages`` / ``remind_open_enquiries``: content-free e-mails. They say that
  something waits, never who wrote, about what, or where.
- ``account_export`` / ``account_delete``: a user's own data (GDPR Art. 15, 17, 20).

Audit entries written here hold ids and counts only, never content, names or addresses.
Every job is idempotent: running it twice in a row does nothing the second time.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    PositiveIntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from wegweiser.accounts.models import User
from wegweiser.benefits.models import Application, Decision, Receipt
from wegweiser.core.audit import audit_record
from wegweiser.core.mail import send_quietly, user_language, verified_emails
from wegweiser.counseling import events
from wegweiser.counseling.access import counsel_agency_ids
from wegweiser.counseling.models import (
    Agency,
    Attachment,
    Conversation,
    ConversationState,
    IdentityKey,
    Message,
    Topic,
)
from wegweiser.organizations.access import Perm, has_perm
from wegweiser.organizations.models import Membership, Node

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


# --- helpers ------------------------------------------------------------------------------------

def _delete_files_on_commit(storage_names: list[str]) -> None:
    """Remove encrypted attachment files once the rows are gone for good (never before: a
    rolled-back transaction must not leave rows pointing at missing files)."""
    if storage_names:
        names = list(storage_names)
        transaction.on_commit(lambda: _delete_files(names))


def _delete_files(storage_names: Iterable[str]) -> None:
    from wegweiser.counseling import files

    for name in storage_names:
        try:
            files.delete_from_storage(name)
        except Exception:  # one unreadable file must not keep the others
            logger.exception("could not delete attachment file %s", name)


@dataclass
class _Deleted:
    conversations: int = 0
    messages: int = 0
    attachments: int = 0

    def add(self, other: _Deleted) -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.attachments += other.attachments


def _delete_conversations(conversations: list[Conversation], *, reason: str, actor: Any = None) -> _Deleted:
    """Delete ``conversations`` (with messages, states, handovers and attachments), one audit
    entry each. Must run inside a transaction; files go after commit."""
    if not conversations:
        return _Deleted()
    pks = [c.pk for c in conversations]
    counts = dict(
        Message.objects.filter(conversation_id__in=pks).order_by().values("conversation_id")
        .annotate(n=Count("pk")).values_list("conversation_id", "n")
    )
    storage_names = list(Attachment.objects.filter(conversation_id__in=pks)
                         .values_list("storage_name", flat=True))
    nodes = {a.pk: a.node for a in Agency.objects.filter(pk__in={c.agency_id for c in conversations})
             .select_related("node")}
    for conversation in conversations:
        if conversation.status != Conversation.Status.CLOSED:
            events.closed_on_commit(conversation.public_id)
        audit_record(actor=actor, action="conversation.purged", node=nodes[conversation.agency_id],
                     obj=conversation, data={"reason": reason, "messages": counts.get(conversation.pk, 0)})
    # Without delete signals the collector fetches message keys only, never bodies.
    Conversation.objects.filter(pk__in=pks).delete()
    _delete_files_on_commit(storage_names)
    return _Deleted(len(pks), sum(counts.values()), len(storage_names))


_CONVERSATION_FIELDS = ("pk", "public_id", "status", "agency_id")


def _client_conversations(user_pks: Iterable[int]) -> dict[int, list[Conversation]]:
    by_client: dict[int, list[Conversation]] = defaultdict(list)
    for conversation in (Conversation.objects.filter(client_id__in=list(user_pks))
                         .only(*_CONVERSATION_FIELDS, "client_id").order_by("pk")):
        by_client[conversation.client_id].append(conversation)
    return by_client


def default_base_url() -> str:
    """``https://<first ALLOWED_HOSTS>`` when that is a plain host name, else "" (no link)."""
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else ""
    if not host or host.startswith(".") or "*" in host:
        return ""
    return f"https://{host}"


# --- purge --------------------------------------------------------------------------------------

def purge(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Delete what the retention rules say must go. Returns counts: ``conversations`` (all
    deleted, either reason), ``accounts``, ``messages``, ``attachments``."""
    now = now or timezone.now()
    total = _Deleted()
    for topic_pk, days in Topic.objects.order_by("pk").values_list("pk", "retention_days"):
        try:
            cutoff = now - timedelta(days=days)
        except OverflowError:  # a retention longer than the calendar: nothing is ever due
            continue
        total.add(_purge_closed(topic_pk, cutoff, batch_size))
    accounts, from_accounts = _purge_accounts(now, batch_size)
    total.add(from_accounts)
    return {"conversations": total.conversations, "accounts": accounts,
            "messages": total.messages, "attachments": total.attachments}


def _purge_closed(topic_pk: int, cutoff: datetime, batch_size: int) -> _Deleted:
    deleted = _Deleted()
    due = Conversation.objects.filter(topic_id=topic_pk, status=Conversation.Status.CLOSED,
                                      closed_at__lt=cutoff)
    while True:
        with transaction.atomic():
            batch = list(due.only(*_CONVERSATION_FIELDS).order_by("pk")[:batch_size])
            if not batch:
                return deleted
            deleted.add(_delete_conversations(batch, reason="retention"))


def inactive_anonymous_accounts(now: datetime) -> QuerySet[User]:
    """Client accounts without a verified e-mail address whose last login, registration and
    last message all lie more than ``ANONYMOUS_ACCOUNT_RETENTION_DAYS`` back."""
    cutoff = now - timedelta(days=settings.ANONYMOUS_ACCOUNT_RETENTION_DAYS)
    return (
        User.objects.filter(kind=User.Kind.CLIENT, loadtest=False, is_staff=False, is_superuser=False,
                            date_joined__lt=cutoff)
        .filter(Q(last_login__isnull=True) | Q(last_login__lt=cutoff))
        .exclude(Exists(EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)))
        .exclude(Exists(Message.objects.filter(sender=OuterRef("pk"), sent_at__gte=cutoff)))
        # Benefit applications are case records with their own retention duty: never purged
        # together with an idle counseling account.
        .exclude(Exists(Application.objects.filter(applicant=OuterRef("pk"))))
    )


def _purge_accounts(now: datetime, batch_size: int) -> tuple[int, _Deleted]:
    accounts, deleted, last_pk = 0, _Deleted(), 0
    while True:
        with transaction.atomic():
            # Evaluated inside the transaction, so an account that just became active is kept.
            users = list(inactive_anonymous_accounts(now).filter(pk__gt=last_pk).only("pk", "public_id")
                         .order_by("pk")[:batch_size])
            if not users:
                return accounts, deleted
            last_pk = users[-1].pk
            by_client = _client_conversations(u.pk for u in users)
            for user in users:
                conversations = by_client.get(user.pk, [])
                deleted.add(_delete_conversations(conversations, reason="account"))
                audit_record(actor=None, action="account.purged", obj=user,
                             data={"conversations": len(conversations)})
            User.objects.filter(pk__in=[u.pk for u in users]).delete()
            accounts += len(users)


# --- new-message notices ------------------------------------------------------------------------

def _due_states(now: datetime) -> QuerySet[ConversationState]:
    """States of opted-in users with a verified primary address whose oldest message that is
    newer than both their read marker and their last notice is older than the delay.

    Clients count every message not their own (including system notices such as "a counselor
    has taken on your enquiry"); counselors count the messages of people only, so their own
    actions (closing, handing over) never mail them. Counselors only for the conversations
    assigned to them."""
    delay = now - timedelta(minutes=settings.NOTIFY_DELAY_MINUTES)
    newest_known = Greatest(OuterRef("last_read_seq"), OuterRef("notified_seq"))
    from_others = (
        Message.objects.filter(conversation_id=OuterRef("conversation_id"), seq__gt=newest_known)
        .filter(
            Q(sender_role=Message.Role.SYSTEM, conversation__client_id=OuterRef("user_id"))
            | (~Q(sender_role=Message.Role.SYSTEM)
               & (Q(sender__isnull=True) | ~Q(sender_id=OuterRef("user_id"))))
        )
        .order_by("seq").values("sent_at")[:1]
    )
    return (
        ConversationState.objects.filter(
            user__email_notifications=True, user__is_active=True, conversation__loadtest=False,
            last_read_seq__lt=F("conversation__last_seq"), notified_seq__lt=F("conversation__last_seq"),
        )
        .filter(Q(user_id=F("conversation__client_id")) | Q(user_id=F("conversation__counselor_id")))
        .filter(Exists(EmailAddress.objects.filter(user_id=OuterRef("user_id"), verified=True, primary=True)))
        .annotate(first_unread_at=Subquery(from_others))
        .filter(first_unread_at__isnull=False, first_unread_at__lte=delay)
    )


def notify_new_messages(*, now: datetime | None = None, base_url: str = "",
                        batch_size: int = BATCH_SIZE) -> int:
    """E-mail each user with new messages at most once per run, then remember (``notified_seq``)
    that they were told, so the same messages never cause a second e-mail. Returns e-mails sent."""
    now = now or timezone.now()
    link = base_url.rstrip("/") + reverse("home") if base_url else ""
    sent, last_user = 0, 0
    connection = mail.get_connection()
    while True:
        user_ids = list(_due_states(now).filter(user_id__gt=last_user).order_by("user_id")
                        .values_list("user_id", flat=True).distinct()[:batch_size])
        if not user_ids:
            return sent
        last_user = user_ids[-1]
        rows = list(_due_states(now).filter(user_id__in=user_ids)
                    .values_list("pk", "user_id", "conversation__last_seq", "conversation__agency_id"))
        users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)
                 .only("pk", "kind", "language", "is_active")}
        addresses = verified_emails(user_ids, primary_only=True)
        by_user: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for pk, user_id, last_seq, agency_id in rows:
            by_user[user_id].append((pk, last_seq, agency_id))
        for user_id, states in by_user.items():
            user, address = users.get(user_id), addresses.get(user_id)
            if user is None or not address:
                continue
            if user.kind == User.Kind.STAFF:
                # A counselor whose role on the agency is gone is no longer told anything.
                allowed = set(counsel_agency_ids(user))
                states = [s for s in states if s[2] in allowed]
                if not states:
                    continue
            with translation.override(user_language(user)):
                subject = _("You have a new message in %(site)s") % {"site": settings.SITE_NAME}
                body = _("You have a new message in %(site)s.") % {"site": settings.SITE_NAME}
                body += "\n\n" + _("Log in to read it.")
                if link:
                    body += "\n" + link
                body += "\n"
            if not send_quietly(connection, to=address, subject=subject, body=body):
                continue
            sent += 1
            ConversationState.objects.filter(pk__in=[s[0] for s in states]).update(
                notified_seq=Case(*(When(pk=pk, then=Value(seq)) for pk, seq, _a in states),
                                  default=F("notified_seq"), output_field=PositiveIntegerField()))


# --- reminders about waiting enquiries ----------------------------------------------------------

def _ancestor_paths(node: Node) -> list[str]:
    step = node.steplen
    return [node.path[:end] for end in range(step, len(node.path) + 1, step)]


def agency_counselors(node: Node) -> list[User]:
    """Active staff who may counsel on the agency ``node`` (roles there or on an ancestor, TOTP
    set up), checked with the same rules as every other permission."""
    if not node.is_active:
        return []
    candidates = (User.objects.filter(
        kind=User.Kind.STAFF, is_active=True,
        pk__in=Membership.objects.filter(node__path__in=_ancestor_paths(node)).values("user_id"),
    ).order_by("pk"))
    return [user for user in candidates if has_perm(user, Perm.COUNSEL, node)]


def remind_open_enquiries(*, now: datetime | None = None) -> int:
    """E-mail the counselors of agencies whose open enquiries wait longer than
    ``ENQUIRY_REMINDER_HOURS`` (counts only), at most once per enquiry in that period. A
    counselor of several agencies gets one e-mail with the total. Returns e-mails sent."""
    now = now or timezone.now()
    hours = settings.ENQUIRY_REMINDER_HOURS
    cutoff = now - timedelta(hours=hours)
    with transaction.atomic():
        due = (Conversation.objects.filter(status=Conversation.Status.OPEN, created_at__lte=cutoff,
                                           loadtest=False)
               .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=cutoff)))
        rows = list(due.select_for_update(of=("self",)).values_list("pk", "agency_id"))
        if not rows:
            return 0
        Conversation.objects.filter(pk__in=[pk for pk, _agency in rows]).update(reminded_at=now)
    per_agency: dict[int, int] = defaultdict(int)
    for _pk, agency_id in rows:
        per_agency[agency_id] += 1
    waiting: dict[int, int] = defaultdict(int)
    recipients: dict[int, User] = {}
    for agency in Agency.objects.filter(pk__in=per_agency).select_related("node"):
        for user in agency_counselors(agency.node):
            waiting[user.pk] += per_agency[agency.pk]
            recipients[user.pk] = user
    addresses = verified_emails(recipients, primary_only=False)
    connection = mail.get_connection()
    sent = 0
    for user_pk, count in waiting.items():
        if user_pk not in addresses:
            continue
        with translation.override(user_language(recipients[user_pk])):
            subject = ngettext("%(count)s enquiry is waiting in %(site)s",
                               "%(count)s enquiries are waiting in %(site)s", count) % {
                "count": count, "site": settings.SITE_NAME}
            body = ngettext("%(count)s enquiry has been waiting longer than %(hours)s hours.",
                            "%(count)s enquiries have been waiting longer than %(hours)s hours.",
                            count) % {"count": count, "hours": hours}
            body += "\n\n" + _("Log in to read it.") + "\n"
        if send_quietly(connection, to=addresses[user_pk], subject=subject, body=body):
            sent += 1
    return sent


# --- a user's own data --------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


_UNSAFE = re.compile(r"[^\w.\- ]+")


def _safe_filename(name: str) -> str:
    """No directories, no path tricks: the archive must unpack to exactly what it says."""
    cleaned = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return cleaned[:150] or "file"


def account_export(user: Any) -> bytes:
    """A ZIP archive of the user's own data: ``data.json`` (account, e-mail addresses, the
    conversations they are the client of with every message and their read markers) and the
    decrypted attachments under ``attachments/<conversation>/<seq>-<filename>``. Counselors'
    names are not part of a client's data and are left out (``sender_role`` only)."""
    from wegweiser.counseling import files

    markers = dict(ConversationState.objects.filter(user=user)
                   .values_list("conversation_id", "last_read_seq"))
    conversations_out: list[dict[str, Any]] = []
    attachments_written = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        conversations = (Conversation.objects.filter(client=user).select_related("topic", "agency__node")
                         .prefetch_related("key_grants").order_by("created_at", "pk"))
        for conversation in conversations:
            attachments = {a.message_id: a for a in Attachment.objects.filter(conversation=conversation)}
            messages_out: list[dict[str, Any]] = []
            for message in conversation.messages.order_by("seq").iterator(chunk_size=1000):
                entry: dict[str, Any] = {"seq": message.seq, "sender_role": message.sender_role,
                                         "body": message.body, "sent_at": _iso(message.sent_at),
                                         "attachment": None}
                if message.nonce is not None:
                    # End-to-end encrypted: the server has ciphertext only; the conversation key is
                    # in "key" below, sealed to the client's identity key (docs/security.md).
                    del entry["body"]
                    entry["encrypted"] = {"v": 1, "key": conversation.key_id, "iv": message.nonce,
                                          "ct": message.body, "client_id": str(message.client_id)}
                attachment = attachments.get(message.pk)
                if attachment is not None:
                    path = (f"attachments/{conversation.public_id}/"
                            f"{message.seq}-{_safe_filename(attachment.filename)}")
                    try:
                        archive.writestr(path, files.decrypt_from_storage(attachment.storage_name))
                    except Exception:  # a lost file must not make the rest unavailable
                        logger.exception("could not export attachment %s", attachment.public_id)
                        path = ""
                    else:
                        attachments_written += 1
                    entry["attachment"] = {"name": attachment.filename,
                                           "content_type": attachment.content_type,
                                           "size": attachment.size, "file": path or None}
                messages_out.append(entry)
            conversations_out.append({
                "id": str(conversation.public_id),
                "topic": conversation.topic.name,
                "agency": conversation.agency.node.name,
                "status": conversation.status,
                "created_at": _iso(conversation.created_at),
                "closed_at": _iso(conversation.closed_at),
                "read_up_to_seq": markers.get(conversation.pk, 0),
                "messages": messages_out,
                **({"key": {"id": conversation.key_id, "sealed_to_you": next(
                    (g.sealed for g in conversation.key_grants.all() if g.user_id == user.pk), None)}}
                   if conversation.key_id else {}),
            })
        identity = IdentityKey.objects.filter(user=user).first()
        data = {
            # The identity key wrapped by password and recovery key (docs/e2e-protocol.md §1): with
            # it the encrypted messages above can be opened outside Wegweiser.
            "identity_key": identity.bundle if identity else None,
            "account": {
                "id": str(user.public_id),
                "username": user.username,
                "kind": user.kind,
                "date_joined": _iso(user.date_joined),
                "last_login": _iso(user.last_login),
                "language": user.language,
                "email_notifications": user.email_notifications,
                "email_addresses": [
                    {"email": e.email, "verified": e.verified, "primary": e.primary}
                    for e in EmailAddress.objects.filter(user=user).order_by("pk")
                ],
            },
            "conversations": conversations_out,
            "exported_at": _iso(timezone.now()),
        }
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
    audit_record(actor=user, action="account.exported", obj=user,
                 data={"conversations": len(conversations_out), "attachments": attachments_written})
    return buffer.getvalue()


def account_delete(*, user: Any) -> None:
    """A client deletes their account: the account, every conversation they are the client of
    (messages, attachments and their files included) and every benefit application (receipts
    and decision letters included) are gone. Staff accounts are removed by
    their organization's admins, never this way."""
    if getattr(user, "kind", None) != User.Kind.CLIENT or user.is_staff or user.is_superuser:
        raise PermissionDenied
    with transaction.atomic():  # benefit records go only when the person deletes the account
        conversations = _client_conversations([user.pk]).get(user.pk, [])
        _delete_conversations(conversations, reason="account", actor=user)
        # Benefit applications go with the account (cascade); their encrypted files too.
        _delete_files_on_commit(
            list(Receipt.objects.filter(application__applicant=user).values_list("storage_name", flat=True))
            + [name for name in Decision.objects.filter(application__applicant=user)
               .values_list("letter_storage_name", flat=True) if name])
        audit_record(actor=user, action="account.deleted", obj=user,
                     data={"conversations": len(conversations)})
        User.objects.filter(pk=user.pk).delete()
