"""Retention (purge), content-free e-mails, and a user's own data (export, deletion)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import make_staff, make_user
from wegweiser.accounts.models import User
from wegweiser.core.audit import audit_verify
from wegweiser.core.models import AuditEntry
from wegweiser.counseling import actions, events, files
from wegweiser.counseling.models import (
    Attachment,
    Conversation,
    ConversationState,
    Handover,
    Message,
    Topic,
)
from wegweiser.counseling.retention import (
    account_delete,
    account_export,
    notify_new_messages,
    purge,
    remind_open_enquiries,
)
from wegweiser.organizations.models import Role

SECRET_TEXT = "Mein geheimes Problem 4711"


# --- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Attachment files in memory: ``files`` maps storage names to plaintext."""
    state = SimpleNamespace(files={}, deleted=[])

    def decrypt(name: str) -> bytes:
        return bytes(state.files[name])

    def delete(name: str) -> None:
        state.deleted.append(name)
        state.files.pop(name, None)

    monkeypatch.setattr(files, "decrypt_from_storage", decrypt)
    monkeypatch.setattr(files, "delete_from_storage", delete)
    return state


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Conversations announced as closed to their sockets."""
    calls: list[Any] = []
    monkeypatch.setattr(events, "closed_on_commit", calls.append)
    return calls


def client_user(username: str, *, days_old: int = 0, now: datetime | None = None) -> User:
    user = make_user(username, User.Kind.CLIENT)
    if days_old:
        moment = (now or timezone.now()) - timedelta(days=days_old)
        User.objects.filter(pk=user.pk).update(date_joined=moment, last_login=moment)
        user.refresh_from_db()
    return user


def verify_email(user: User, address: str, *, primary: bool = True, verified: bool = True) -> None:
    EmailAddress.objects.create(user=user, email=address, primary=primary, verified=verified)


def enquiry(client: User, agency: Any, topic: Topic, body: str = "Ich brauche Hilfe.") -> Conversation:
    return actions.enquiry_create(client=client, agency=agency, topic=topic, body=body)


def close(conversation: Conversation, *, days_ago: int, now: datetime) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(
        status=Conversation.Status.CLOSED, closed_at=now - timedelta(days=days_ago))


def attach(conversation: Conversation, sender: User, storage: SimpleNamespace, *, name: str,
           filename: str = "brief.pdf", data: bytes = b"%PDF-1.7 test") -> Message:
    conversation.refresh_from_db()
    seq = conversation.last_seq + 1
    message = Message.objects.create(conversation=conversation, seq=seq, sender=sender,
                                     sender_role=Message.Role.CLIENT, body=filename,
                                     sent_at=timezone.now())
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=seq)
    Attachment.objects.create(message=message, conversation=conversation, uploaded_by=sender,
                              filename=filename, content_type="application/pdf", size=len(data),
                              storage_name=name)
    storage.files[name] = data
    return message


def audit_dump() -> str:
    return json.dumps(list(AuditEntry.objects.values("actor", "action", "object_type", "object_id",
                                                      "data")), default=str)


# --- purge: closed conversations after retention ---------------------------------------------------

def test_purge_deletes_closed_conversations_after_retention_only(
    counseling: SimpleNamespace, mia: User, jonas: User, storage: SimpleNamespace, published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    now = timezone.now()
    old = counseling.conversation
    attach(old, mia, storage, name="old-file")
    Handover.objects.create(conversation=old, from_counselor=jonas, to_counselor=jonas,
                            status=Handover.Status.CANCELLED)
    close(old, days_ago=200, now=now)
    old_messages = Message.objects.filter(conversation=old).count()
    assert old_messages == 3

    ben = client_user("ben")
    recent = enquiry(ben, counseling.agency_a, counseling.topic)
    close(recent, days_ago=10, now=now)
    # Open and active conversations are never deleted by retention, however old.
    cara, dan = client_user("cara"), client_user("dan")
    waiting = enquiry(cara, counseling.agency_a, counseling.topic)
    active = enquiry(dan, counseling.agency_a, counseling.topic)
    actions.enquiry_accept(actor=jonas, conversation=active)
    Conversation.objects.filter(pk__in=[waiting.pk, active.pk]).update(
        created_at=now - timedelta(days=900), last_message_at=now - timedelta(days=900))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = purge(now=now)
    assert counts == {"conversations": 1, "accounts": 0, "messages": 3, "attachments": 1}
    assert storage.deleted == []  # files go only after commit
    for callback in callbacks:
        callback()
    assert storage.deleted == ["old-file"]

    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert not Message.objects.filter(conversation_id=old.pk).exists()
    assert not ConversationState.objects.filter(conversation_id=old.pk).exists()
    assert not Handover.objects.filter(conversation_id=old.pk).exists()
    assert not Attachment.objects.filter(conversation_id=old.pk).exists()
    assert set(Conversation.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk, active.pk}
    assert published == []  # it was closed already

    entry = AuditEntry.objects.get(action="conversation.purged")
    assert entry.actor is None and entry.object_id == str(old.public_id)
    assert entry.object_type == "counseling.conversation"
    assert entry.data == {"reason": "retention", "messages": 3}
    assert audit_verify().ok

    assert purge(now=now)["conversations"] == 0  # idempotent
    # The retention period is the topic's own.
    Topic.objects.filter(pk=counseling.topic.pk).update(retention_days=5)
    assert purge(now=now)["conversations"] == 1
    assert not Conversation.objects.filter(pk=recent.pk).exists()


def test_purge_works_through_many_batches(counseling: SimpleNamespace, storage: SimpleNamespace) -> None:
    now = timezone.now()
    client = client_user("ben")
    for index in range(7):
        conversation = Conversation.objects.create(
            agency=counseling.agency_a, topic=counseling.topic, client=client,
            status=Conversation.Status.CLOSED, closed_at=now - timedelta(days=400), last_seq=1)
        Message.objects.create(conversation=conversation, seq=1, sender=client,
                               sender_role=Message.Role.CLIENT, body=f"Nachricht {index}", sent_at=now)
    counts = purge(now=now, batch_size=2)
    assert counts["conversations"] == 7 and counts["messages"] == 7
    assert not Conversation.objects.filter(client=client).exists()
    assert AuditEntry.objects.filter(action="conversation.purged").count() == 7


# --- purge: inactive anonymous accounts ---------------------------------------------------------

def test_purge_deletes_inactive_anonymous_accounts(
    counseling: SimpleNamespace, mia: User, settings: Any, storage: SimpleNamespace,
    published: list[Any], django_capture_on_commit_callbacks: Any,
) -> None:
    settings.ANONYMOUS_ACCOUNT_RETENTION_DAYS = 180
    now = timezone.now()
    gone = client_user("gone", days_old=200, now=now)
    conversation = enquiry(gone, counseling.agency_b, counseling.topic)
    attach(conversation, gone, storage, name="gone-file")
    Message.objects.filter(conversation=conversation).update(sent_at=now - timedelta(days=190))
    unverified = client_user("unverified", days_old=200, now=now)
    verify_email(unverified, "unverified@example.org", verified=False)

    verified = client_user("verified", days_old=200, now=now)
    verify_email(verified, "verified@example.org")
    logged_in = client_user("logged_in", days_old=200, now=now)
    User.objects.filter(pk=logged_in.pk).update(last_login=now - timedelta(days=5))
    wrote = client_user("wrote", days_old=200, now=now)
    recent = enquiry(wrote, counseling.agency_b, counseling.topic)
    Message.objects.filter(conversation=recent).update(sent_at=now - timedelta(days=5))
    loadtest = client_user("loadtest", days_old=200, now=now)
    User.objects.filter(pk=loadtest.pk).update(loadtest=True)
    never_logged_in = client_user("never", days_old=100, now=now)
    User.objects.filter(pk=never_logged_in.pk).update(last_login=None)
    staff = make_user("oldstaff")
    User.objects.filter(pk=staff.pk).update(date_joined=now - timedelta(days=900), last_login=None)

    with django_capture_on_commit_callbacks(execute=True):
        counts = purge(now=now)
    assert counts["accounts"] == 2 and counts["conversations"] == 1 and counts["attachments"] == 1
    remaining = set(User.objects.values_list("username", flat=True))
    assert "gone" not in remaining and "unverified" not in remaining
    assert {"verified", "logged_in", "wrote", "loadtest", "never", "oldstaff", "mia", "jonas"} <= remaining
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert storage.deleted == ["gone-file"]
    assert published == [conversation.public_id]  # its sockets learn that it is gone

    purged = AuditEntry.objects.filter(action="account.purged")
    assert {e.object_id for e in purged} == {str(gone.public_id), str(unverified.public_id)}
    assert {e.object_id: e.data for e in purged}[str(gone.public_id)] == {"conversations": 1}
    assert all(e.actor is None for e in purged)
    entry = AuditEntry.objects.get(action="conversation.purged")
    assert entry.data == {"reason": "account", "messages": 2}
    assert purge(now=now) == {"conversations": 0, "accounts": 0, "messages": 0, "attachments": 0}


def test_audit_entries_hold_no_content_names_or_addresses(
    counseling: SimpleNamespace, storage: SimpleNamespace, published: list[Any],
) -> None:
    now = timezone.now()
    secretive = client_user("geheimer_nutzername", days_old=400, now=now)
    verify_email(secretive, "geheim@example.org")
    conversation = enquiry(secretive, counseling.agency_a, counseling.topic, body=SECRET_TEXT)
    attach(conversation, secretive, storage, name="secret-file", filename="Tagebuch.pdf")
    close(conversation, days_ago=400, now=now)
    anonymous = client_user("anonymer_nutzername", days_old=400, now=now)
    enquiry(anonymous, counseling.agency_b, counseling.topic, body=SECRET_TEXT + " B")
    Message.objects.filter(sender=anonymous).update(sent_at=now - timedelta(days=400))
    exporter = client_user("exportierender_nutzer")
    enquiry(exporter, counseling.agency_a, counseling.topic, body=SECRET_TEXT + " C")

    counts = purge(now=now)
    assert counts["conversations"] == 2 and counts["accounts"] == 1
    account_export(exporter)
    account_delete(user=exporter)

    dump = audit_dump()
    assert "conversation.purged" in dump and "account.purged" in dump
    assert "account.exported" in dump and "account.deleted" in dump
    for forbidden in [SECRET_TEXT, "geheimer_nutzername", "anonymer_nutzername", "exportierender_nutzer",
                      "geheim@example.org", "Tagebuch", counseling.topic.name, "Beratungsstelle"]:
        assert forbidden not in dump


# --- new-message e-mails ------------------------------------------------------------------------

def _mail_texts() -> str:
    return " ".join(m.subject + "\n" + m.body for m in mail.outbox)


def test_notify_sends_one_content_free_mail_per_user(
    counseling: SimpleNamespace, mia: User, jonas: User,
) -> None:
    User.objects.filter(pk=mia.pk).update(email_notifications=True, language="en")
    verify_email(mia, "mia@example.org")
    nora = make_staff("nora", [(counseling.agency_b.node, Role.COUNSELOR)])
    second = enquiry(mia, counseling.agency_b, counseling.topic)
    actions.enquiry_accept(actor=nora, conversation=second)
    actions.message_post(user=jonas, conversation=counseling.conversation, body=SECRET_TEXT)
    mail.outbox.clear()

    assert notify_new_messages(now=timezone.now()) == 0  # not before the delay
    later = timezone.now() + timedelta(minutes=11)
    assert notify_new_messages(now=later) == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mia@example.org"]
    assert "new message" in mail.outbox[0].subject
    text = _mail_texts()
    for forbidden in [SECRET_TEXT, "mia", "jonas", "nora", counseling.topic.name, "Beratungsstelle",
                      "Ich habe Schulden"]:
        assert forbidden not in text
    for conversation in (counseling.conversation, second):
        conversation.refresh_from_db()
        state = ConversationState.objects.get(conversation=conversation, user=mia)
        assert state.notified_seq == conversation.last_seq

    assert notify_new_messages(now=later) == 0  # never twice for the same messages
    assert len(mail.outbox) == 1
    actions.message_post(user=jonas, conversation=counseling.conversation, body="Noch etwas")
    assert notify_new_messages(now=timezone.now() + timedelta(minutes=11)) == 1
    assert len(mail.outbox) == 2


def test_notify_needs_opt_in_a_verified_address_and_unread_messages(
    counseling: SimpleNamespace, mia: User, jonas: User,
) -> None:
    later = timezone.now() + timedelta(minutes=11)
    # mia has unread messages but has not opted in.
    verify_email(mia, "mia@example.org")
    # ben opted in, but his address is not verified.
    ben = client_user("ben")
    User.objects.filter(pk=ben.pk).update(email_notifications=True)
    verify_email(ben, "ben@example.org", verified=False)
    ben_conv = enquiry(ben, counseling.agency_a, counseling.topic)
    actions.enquiry_accept(actor=jonas, conversation=ben_conv)
    # cara opted in and is verified, but has read everything.
    cara = client_user("cara")
    User.objects.filter(pk=cara.pk).update(email_notifications=True)
    verify_email(cara, "cara@example.org")
    cara_conv = enquiry(cara, counseling.agency_a, counseling.topic)
    actions.enquiry_accept(actor=jonas, conversation=cara_conv)
    cara_conv.refresh_from_db()
    actions.read_marker_set(user=cara, conversation=cara_conv, seq=cara_conv.last_seq)
    mail.outbox.clear()

    assert notify_new_messages(now=later) == 0
    assert mail.outbox == []
    # The control: once mia opts in, she is told.
    User.objects.filter(pk=mia.pk).update(email_notifications=True)
    assert notify_new_messages(now=later) == 1
    assert mail.outbox[0].to == ["mia@example.org"]


def test_notify_counselor_only_for_own_conversations_and_link(
    counseling: SimpleNamespace, mia: User, jonas: User, ayse: User,
) -> None:
    for user, address in [(jonas, "jonas@example.org"), (ayse, "ayse@example.org")]:
        User.objects.filter(pk=user.pk).update(email_notifications=True)
        verify_email(user, address)
    conversation = counseling.conversation
    # ayse looked at the conversation once (she has a read marker) but it is not hers.
    ConversationState.objects.create(conversation=conversation, user=ayse, last_read_seq=1)
    actions.message_post(user=jonas, conversation=conversation, body="Hallo")
    actions.message_post(user=mia, conversation=conversation, body=SECRET_TEXT)
    mail.outbox.clear()

    sent = notify_new_messages(now=timezone.now() + timedelta(minutes=11),
                               base_url="https://wegweiser.example/")
    assert sent == 1
    assert mail.outbox[0].to == ["jonas@example.org"]  # ayse is not the counselor
    assert "https://wegweiser.example/" in mail.outbox[0].body
    assert SECRET_TEXT not in _mail_texts() and "mia" not in _mail_texts()
    # Closing posts a system notice; it does not mail the counselor who closed.
    actions.read_marker_set(user=jonas, conversation=conversation, seq=10_000)
    conversation.refresh_from_db()
    actions.conversation_close(actor=jonas, conversation=conversation)
    assert notify_new_messages(now=timezone.now() + timedelta(minutes=11)) == 0


# --- reminders about waiting enquiries ----------------------------------------------------------

def test_remind_open_enquiries_mails_counselors_counts_only(
    counseling: SimpleNamespace, tree: SimpleNamespace, jonas: User, ayse: User, kai: User, settings: Any,
) -> None:
    settings.ENQUIRY_REMINDER_HOURS = 24
    now = timezone.now()
    old = now - timedelta(hours=30)
    waiting_a = [enquiry(client_user(name), counseling.agency_a, counseling.topic, body=SECRET_TEXT)
                 for name in ("ben", "cara")]
    waiting_b = enquiry(client_user("eva"), counseling.agency_b, counseling.topic)
    recent = enquiry(client_user("dan"), counseling.agency_a, counseling.topic)  # not yet
    Conversation.objects.filter(pk__in=[c.pk for c in [*waiting_a, waiting_b]]).update(created_at=old)

    nora = make_staff("nora", [(tree.agency_b, Role.COUNSELOR)])
    regional = make_staff("regional", [(tree.branch, Role.COUNSELOR)])  # role on an ancestor
    silent = make_staff("silent", [(tree.agency_a, Role.COUNSELOR)])  # no verified address
    no_totp = make_staff("no_totp", [(tree.agency_a, Role.COUNSELOR)], mfa=False)
    for user in (jonas, ayse, kai, nora, regional, no_totp):
        verify_email(user, f"{user.username}@example.org")
    User.objects.filter(pk__in=[u.pk for u in (jonas, ayse, kai, nora, regional, no_totp, silent)]) \
        .update(language="en")
    mail.outbox.clear()

    assert remind_open_enquiries(now=now) == 4
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert set(bodies) == {"jonas@example.org", "ayse@example.org", "nora@example.org",
                           "regional@example.org"}
    assert "2 enquiries have been waiting longer than 24 hours" in bodies["jonas@example.org"]
    assert "3 enquiries have been waiting" in bodies["regional@example.org"]
    assert "1 enquiry has been waiting longer than 24 hours" in bodies["nora@example.org"]
    text = _mail_texts()
    for forbidden in [SECRET_TEXT, "ben", "cara", "eva", counseling.topic.name, "Beratungsstelle"]:
        assert forbidden not in text
    assert all(c.reminded_at == now for c in Conversation.objects.filter(created_at=old))

    assert remind_open_enquiries(now=now + timedelta(hours=1)) == 0  # reminded recently
    assert remind_open_enquiries(now=now + timedelta(hours=25)) == 4  # and again a day later
    # Accepted enquiries no longer wait.
    for conversation in [*waiting_a, waiting_b, recent]:
        actions.enquiry_accept(actor=regional, conversation=conversation)
    assert remind_open_enquiries(now=now + timedelta(hours=60)) == 0


# --- a user's own data --------------------------------------------------------------------------

def test_account_export_contains_own_data_only(
    counseling: SimpleNamespace, mia: User, jonas: User, storage: SimpleNamespace,
) -> None:
    verify_email(mia, "mia@example.org")
    conversation = counseling.conversation
    actions.message_post(user=jonas, conversation=conversation, body="Antwort von Jonas")
    message = attach(conversation, mia, storage, name="mia-file", filename="../../Kontoauszug.pdf",
                     data=b"%PDF mia")
    other = enquiry(client_user("ben"), counseling.agency_a, counseling.topic, body="Bens Geheimnis")
    attach(other, other.client, storage, name="ben-file", data=b"%PDF ben")

    archive = zipfile.ZipFile(io.BytesIO(account_export(mia)))
    names = archive.namelist()
    expected = f"attachments/{conversation.public_id}/{message.seq}-Kontoauszug.pdf"
    assert sorted(names) == sorted(["data.json", expected])
    assert archive.read(expected) == b"%PDF mia"
    data = json.loads(archive.read("data.json"))
    assert data["account"]["username"] == "mia"
    assert data["account"]["email_addresses"] == [
        {"email": "mia@example.org", "verified": True, "primary": True}]
    [exported] = data["conversations"]
    assert exported["id"] == str(conversation.public_id)
    assert exported["topic"] == "Schulden" and exported["agency"] == "Beratungsstelle A"
    assert exported["status"] == "active"
    bodies = [m["body"] for m in exported["messages"]]
    assert bodies[0] == "Ich habe Schulden." and "Antwort von Jonas" in bodies
    assert [m["seq"] for m in exported["messages"]] == list(range(1, message.seq + 1))
    assert exported["messages"][-1]["attachment"]["file"] == expected
    assert exported["read_up_to_seq"] == ConversationState.objects.get(
        conversation=conversation, user=mia).last_read_seq
    everything = b"".join(archive.read(name) for name in names)
    assert b"Bens Geheimnis" not in everything and b"%PDF ben" not in everything
    assert b"jonas" not in everything  # counselors' names are not the client's data

    entry = AuditEntry.objects.get(action="account.exported")
    assert entry.actor == mia.public_id and entry.data == {"conversations": 1, "attachments": 1}


def test_account_delete_removes_everything_and_refuses_staff(
    counseling: SimpleNamespace, mia: User, jonas: User, storage: SimpleNamespace, published: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    verify_email(mia, "mia@example.org")
    active = counseling.conversation
    attach(active, mia, storage, name="mia-file")
    closed = enquiry(mia, counseling.agency_b, counseling.topic)
    close(closed, days_ago=1, now=timezone.now())
    other = enquiry(client_user("ben"), counseling.agency_a, counseling.topic)

    with pytest.raises(PermissionDenied):
        account_delete(user=jonas)
    assert User.objects.filter(pk=jonas.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=mia)
    assert not User.objects.filter(pk=mia.pk).exists()
    assert not Conversation.objects.filter(pk__in=[active.pk, closed.pk]).exists()
    assert not Message.objects.filter(conversation_id__in=[active.pk, closed.pk]).exists()
    assert not Attachment.objects.filter(conversation_id=active.pk).exists()
    assert not EmailAddress.objects.filter(email="mia@example.org").exists()
    assert not ConversationState.objects.filter(conversation_id__in=[active.pk, closed.pk]).exists()
    assert Conversation.objects.filter(pk=other.pk).exists()
    assert User.objects.filter(pk=jonas.pk).exists()
    assert storage.deleted == ["mia-file"]
    assert published == [active.public_id]  # only the one that was not closed
    entry = AuditEntry.objects.get(action="account.deleted")
    assert entry.actor == mia.public_id and entry.data == {"conversations": 2}
    assert AuditEntry.objects.filter(action="conversation.purged", data__reason="account").count() == 2
    assert audit_verify().ok


# --- commands -----------------------------------------------------------------------------------

def test_commands_print_counts(counseling: SimpleNamespace, mia: User, jonas: User) -> None:
    close(counseling.conversation, days_ago=400, now=timezone.now())
    out = io.StringIO()
    call_command("purge", stdout=out)
    assert "Deleted 1 conversation and 0 accounts" in out.getvalue()
    out = io.StringIO()
    call_command("purge", stdout=out)
    assert "Deleted 0 conversations and 0 accounts" in out.getvalue()

    User.objects.filter(pk=jonas.pk).update(email_notifications=True)
    verify_email(jonas, "jonas@example.org")
    conversation = enquiry(mia, counseling.agency_a, counseling.topic)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=timezone.now() - timedelta(days=2))
    mail.outbox.clear()
    out = io.StringIO()
    call_command("notify", "--url", "https://wegweiser.example", stdout=out)
    assert ("Sent 0 new-message e-mails, 1 enquiry reminder, 0 decision e-mails and 0 ideas e-mails."
            in out.getvalue())
    assert mail.outbox[0].to == ["jonas@example.org"]


def test_notify_writes_in_each_recipients_language(
    counseling: SimpleNamespace, mia: User, jonas: User, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.utils import translation

    from wegweiser.counseling import retention

    # The strings are new and may not be translated yet: record the active language instead.
    monkeypatch.setattr(retention, "_", lambda text: f"[{translation.get_language()}] {text}")
    ben = client_user("ben")
    ben_conv = enquiry(ben, counseling.agency_a, counseling.topic)
    actions.enquiry_accept(actor=jonas, conversation=ben_conv)
    User.objects.filter(pk=mia.pk).update(email_notifications=True, language="sv")
    User.objects.filter(pk=ben.pk).update(email_notifications=True, language="")
    verify_email(mia, "mia@example.org")
    verify_email(ben, "ben@example.org")
    mail.outbox.clear()

    assert notify_new_messages(now=timezone.now() + timedelta(minutes=11)) == 2
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["mia@example.org"].startswith("[sv] ")
    assert subjects["ben@example.org"].startswith("[de] ")  # LANGUAGE_CODE when none is set
