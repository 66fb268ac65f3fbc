"""Counseling pages: finder, API, enquiry, inbox, conversation, handover, absence, statistics,
administration — and for every view, that outsiders get 404."""

from __future__ import annotations

import threading
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tests.conftest import make_staff, make_user
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling import actions
from wegweiser.counseling.models import Absence, Conversation, ConversationState, Handover, Message, Topic
from wegweiser.organizations.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ben(db: Any) -> User:
    return make_user("ben", User.Kind.CLIENT)


# --- finder and API ----------------------------------------------------------------------------------

def test_finder_matches_postcode_and_falls_back(counseling: SimpleNamespace, anon: Any) -> None:
    topic = counseling.topic
    page = anon.get("/counseling/", {"topic": topic.public_id, "postcode": "24103"})
    assert page.status_code == 200
    assert "Beratungsstelle A" in page.text and "Beratungsstelle B" not in page.text
    nothing = anon.get("/counseling/", {"topic": topic.public_id, "postcode": "80331"})
    assert 'class="card"' not in nothing.text
    topic.fallback_agency = counseling.agency_b
    topic.save()
    fallback = anon.get("/counseling/", {"topic": topic.public_id, "postcode": "80331"})
    assert "Beratungsstelle B" in fallback.text
    bad = anon.get("/counseling/", {"topic": topic.public_id, "postcode": "12"})
    assert "five digits" in bad.text or "fünf" in bad.text


def test_api_agencies(counseling: SimpleNamespace, anon: Any) -> None:
    topic = counseling.topic
    found = anon.get("/api/v1/agencies", {"topic": str(topic.public_id), "postcode": "25100"}).json()
    assert found["fallback"] is False
    assert [a["name"] for a in found["agencies"]] == ["Beratungsstelle B"]
    swedish = anon.get("/api/v1/agencies", {"topic": str(topic.public_id), "postcode": "241 03"}).json()
    assert [a["name"] for a in swedish["agencies"]] == ["Beratungsstelle A"]
    topic.fallback_agency = counseling.agency_a
    topic.save()
    fallback = anon.get("/api/v1/agencies", {"topic": str(topic.public_id), "postcode": "99999"}).json()
    assert fallback["fallback"] is True and fallback["agencies"][0]["name"] == "Beratungsstelle A"
    assert anon.get("/api/v1/agencies", {"topic": str(topic.public_id), "postcode": "x1"}).status_code == 400
    assert anon.get("/api/v1/agencies", {"topic": str(uuid.uuid4())}).status_code == 404
    assert anon.get("/api/v1/agencies", {"topic": "nope"}).status_code == 422
    schema = anon.get("/api/v1/openapi.json").json()
    assert "/api/v1/agencies" in schema["paths"]
    assert anon.get("/api/v1/docs").status_code == 200


def test_min_age_is_enforced(counseling: SimpleNamespace, anon: Any) -> None:
    counseling.topic.min_age = 18
    counseling.topic.save()
    response = anon.get("/api/v1/agencies", {"topic": str(counseling.topic.public_id), "age": "15"})
    assert response.status_code == 400


# --- enquiry -------------------------------------------------------------------------------------------

def _enquiry_url(counseling: SimpleNamespace) -> str:
    return f"/counseling/enquiry/{counseling.agency_a.node.public_id}/{counseling.topic.public_id}/"


def test_anonymous_visitor_registers_and_sends_enquiry(counseling: SimpleNamespace, anon: Any) -> None:
    url = _enquiry_url(counseling)
    page = anon.get(url)
    assert page.status_code == 200 and "privacy-title" in page.text
    response = anon.post(url, {"username": "sonnenblume24", "password": "ein langes passwort fuer mich",
                               "body": "Ich brauche Hilfe.", "postcode": "24103", "privacy": "on"})
    assert response.status_code == 302
    client = User.objects.get(username="sonnenblume24")
    assert client.kind == "client" and not client.email
    registered = AuditEntry.objects.filter(action="account.client_created", object_id=str(client.public_id))
    assert registered.exists()
    conversation = Conversation.objects.get(client=client)
    assert conversation.status == "open"
    assert list(conversation.messages.values_list("body", flat=True)) == ["Ich brauche Hilfe."]
    assert anon.get(response.url).status_code == 200  # logged in, sees the conversation


def test_bad_registration_changes_nothing_and_keeps_text(counseling: SimpleNamespace, anon: Any) -> None:
    before = (User.objects.count(), Conversation.objects.count())
    response = anon.post(_enquiry_url(counseling), {"username": "kurz", "password": "kurz",
                                                    "body": "Mein Text", "privacy": "on"})
    assert response.status_code == 200
    assert "Mein Text" in response.text
    assert (User.objects.count(), Conversation.objects.count()) == before
    no_privacy = anon.post(_enquiry_url(counseling), {"username": "neu", "password": "x" * 20,
                                                      "body": "Text"})
    assert "privacy note" in no_privacy.text or "Datenschutz" in no_privacy.text
    assert (User.objects.count(), Conversation.objects.count()) == before


# --- accepting: exactly one winner ----------------------------------------------------------------------

def test_second_accept_gets_a_clear_message(counseling: SimpleNamespace, mia: User, jonas: User,
                                            ayse: User, client_for: Any) -> None:
    conv = actions.enquiry_create(client=mia, agency=counseling.agency_b, topic=counseling.topic,
                                  body="Noch eine Frage")
    colleague = make_staff("carla", [(counseling.agency_b.node, Role.COUNSELOR)])
    other = make_staff("dora", [(counseling.agency_b.node, Role.COUNSELOR)])
    assert client_for(colleague).post(f"/conversations/{conv.public_id}/accept/").status_code == 302
    response = client_for(other).post(f"/conversations/{conv.public_id}/accept/", follow=True)
    # The enquiry is no longer open for dora: she gets 404, never a second acceptance.
    assert response.status_code == 404
    conv.refresh_from_db()
    assert conv.counselor == colleague
    with pytest.raises(ValidationError):
        actions.enquiry_accept(actor=other, conversation=conv)


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_have_one_winner(counseling: SimpleNamespace, mia: User) -> None:
    conv = actions.enquiry_create(client=mia, agency=counseling.agency_b, topic=counseling.topic,
                                  body="Hilfe")
    counselors = [make_staff(f"c{i}", [(counseling.agency_b.node, Role.COUNSELOR)]) for i in range(4)]
    barrier = threading.Barrier(len(counselors))
    outcomes: list[str] = []

    def accept(user: User) -> None:
        try:
            barrier.wait()
            actions.enquiry_accept(actor=user, conversation=Conversation.objects.get(pk=conv.pk))
            outcomes.append("won")
        except ValidationError:
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(u,)) for u in counselors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["taken", "taken", "taken", "won"]
    assert AuditEntry.objects.filter(action="enquiry.accepted", object_id=str(conv.public_id)).count() == 1


# --- the conversation page without JavaScript -------------------------------------------------------------

def test_form_post_is_idempotent_and_refuses_bad_input(counseling: SimpleNamespace, mia: User,
                                                       client_for: Any) -> None:
    conv = counseling.conversation
    client = client_for(mia)
    url = f"/conversations/{conv.public_id}/send/"
    client_id = str(uuid.uuid4())
    assert client.post(url, {"body": "Hallo", "client_id": client_id}).status_code == 302
    assert client.post(url, {"body": "Hallo", "client_id": client_id}).status_code == 302
    assert Message.objects.filter(conversation=conv, body="Hallo").count() == 1
    last = Conversation.objects.get(pk=conv.pk).last_seq
    empty = client.post(url, {"body": "   ", "client_id": str(uuid.uuid4())})
    assert empty.status_code == 400
    too_long = client.post(url, {"body": "x" * 10_001, "client_id": str(uuid.uuid4())})
    assert too_long.status_code == 400 and "x" * 100 in too_long.text  # the text comes back
    assert Conversation.objects.get(pk=conv.pk).last_seq == last
    seqs = list(Message.objects.filter(conversation=conv).values_list("seq", flat=True))
    assert seqs == list(range(1, last + 1))


def test_form_posts_are_rate_limited(counseling: SimpleNamespace, mia: User, client_for: Any,
                                     settings: Any) -> None:
    settings.CHAT_RATE_LIMIT = "2/60"
    client = client_for(mia)
    url = f"/conversations/{counseling.conversation.public_id}/send/"
    codes = [client.post(url, {"body": f"m{i}", "client_id": str(uuid.uuid4())}).status_code
             for i in range(3)]
    assert codes == [302, 302, 400]
    assert not Message.objects.filter(body="m2").exists()


def test_page_marks_read_and_inbox_counts_unread(counseling: SimpleNamespace, mia: User, jonas: User,
                                                  client_for: Any) -> None:
    conv = counseling.conversation
    for text in ("eins", "zwei"):
        actions.message_post(user=mia, conversation=conv, body=text)
    inbox = client_for(jonas).get("/inbox/?tab=mine")
    assert inbox.status_code == 200 and 'class="badge">4<' in inbox.text  # enquiry, notice, 2
    client_for(jonas).get(f"/conversations/{conv.public_id}/")
    assert ConversationState.objects.get(conversation=conv, user=jonas).last_read_seq == \
        Conversation.objects.get(pk=conv.pk).last_seq
    assert 'class="badge"' not in client_for(jonas).get("/inbox/?tab=mine").text


def test_inbox_lists_search_archive_and_close(counseling: SimpleNamespace, mia: User, ben: User,
                                              jonas: User, client_for: Any) -> None:
    waiting = actions.enquiry_create(client=ben, agency=counseling.agency_a, topic=counseling.topic,
                                     body="Ich warte")
    client = client_for(jonas)
    enquiries = client.get("/inbox/?tab=enquiries").text
    assert "ben" in enquiries and str(waiting.public_id) in enquiries
    assert "mia" in client.get("/inbox/?tab=mine&q=mi").text
    assert "mia" not in client.get("/inbox/?tab=mine&q=zzz").text
    conv = counseling.conversation
    client.post(f"/conversations/{conv.public_id}/archive/", {"archived": "1"})
    assert "mia" not in client.get("/inbox/?tab=mine").text
    assert "mia" in client.get("/inbox/?tab=archived").text
    client.post(f"/conversations/{conv.public_id}/archive/", {"archived": "0"})
    assert "mia" in client.get("/inbox/?tab=mine").text
    assert client.post(f"/conversations/{conv.public_id}/close/").status_code == 302
    conv.refresh_from_db()
    assert conv.status == "closed" and conv.closed_at is not None
    closed = client_for(mia).post(f"/conversations/{conv.public_id}/send/",
                                  {"body": "noch da?", "client_id": str(uuid.uuid4())})
    assert closed.status_code == 400 and not Message.objects.filter(body="noch da?").exists()


def test_team_conversations_are_shared(counseling: SimpleNamespace, mia: User, jonas: User,
                                       client_for: Any) -> None:
    counseling.topic.team_counseling = True
    counseling.topic.save()
    conv = actions.enquiry_create(client=mia, agency=counseling.agency_a, topic=counseling.topic,
                                  body="Team?")
    actions.enquiry_accept(actor=jonas, conversation=conv)
    colleague = make_staff("carla", [(counseling.agency_a.node, Role.COUNSELOR)])
    assert str(conv.public_id) in client_for(colleague).get("/inbox/?tab=team").text
    assert client_for(colleague).get(f"/conversations/{conv.public_id}/").status_code == 200
    # The non-team conversation of jonas stays private.
    private = f"/conversations/{counseling.conversation.public_id}/"
    assert client_for(colleague).get(private).status_code == 404


# --- handover -------------------------------------------------------------------------------------------

def test_handover_needs_the_clients_consent(counseling: SimpleNamespace, mia: User, jonas: User,
                                            client_for: Any) -> None:
    conv = counseling.conversation
    carla = make_staff("carla", [(counseling.agency_a.node, Role.COUNSELOR)])
    outsider = make_staff("erik", [(counseling.agency_b.node, Role.COUNSELOR)])
    url = f"/conversations/{conv.public_id}/handover/"
    refused = client_for(jonas).post(url, {"to_counselor": str(outsider.public_id)})
    assert refused.status_code == 400 and not Handover.objects.exists()
    assert client_for(jonas).post(url, {"to_counselor": str(carla.public_id)}).status_code == 302
    handover = Handover.objects.get()
    assert client_for(carla).post(f"/handovers/{handover.public_id}/", {"consent": "yes"}).status_code == 404
    client_for(mia).post(f"/handovers/{handover.public_id}/", {"consent": "no"})
    conv.refresh_from_db()
    assert conv.counselor == jonas and Handover.objects.get().status == "declined"
    client_for(jonas).post(url, {"to_counselor": str(carla.public_id)})
    second = Handover.objects.get(status="requested")
    client_for(mia).post(f"/handovers/{second.public_id}/", {"consent": "yes"})
    conv.refresh_from_db()
    assert conv.counselor == carla
    assert client_for(jonas).get(f"/conversations/{conv.public_id}/").status_code == 404
    actions_logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"handover.requested", "handover.declined", "handover.confirmed"} <= actions_logged


# --- absence --------------------------------------------------------------------------------------------

def test_absence_message_once_per_conversation(counseling: SimpleNamespace, mia: User, jonas: User,
                                               client_for: Any) -> None:
    response = client_for(jonas).post("/absence/", {
        "starts_at": "2020-01-01T08:00", "ends_at": "2099-01-01T08:00",
        "message": "Ich bin im Urlaub bis Montag."})
    assert response.status_code == 302 and Absence.objects.filter(user=jonas).exists()
    conv = counseling.conversation
    actions.message_post(user=mia, conversation=conv, body="Hallo?")
    actions.message_post(user=mia, conversation=conv, body="Hallo??")
    notices = Message.objects.filter(conversation=conv, body="Ich bin im Urlaub bis Montag.")
    assert notices.count() == 1 and notices.get().sender_role == "system"
    bad = client_for(jonas).post("/absence/", {"starts_at": "2030-01-02T08:00", "ends_at": "2030-01-01T08:00",
                                               "message": "x"})
    assert bad.status_code == 200 and Absence.objects.get(user=jonas).ends_at.year == 2099


# --- statistics -----------------------------------------------------------------------------------------

def test_statistics_for_agency_leads_only_and_masked(counseling: SimpleNamespace, ayse: User, jonas: User,
                                                     client_for: Any) -> None:
    assert client_for(jonas).get("/statistics/").status_code == 404
    page = client_for(ayse).get("/statistics/")
    assert page.status_code == 200
    assert "&lt;5" in page.text and "mia" not in page.text
    for i in range(5):
        client = make_user(f"k{i}", User.Kind.CLIENT)
        actions.enquiry_create(client=client, agency=counseling.agency_a, topic=counseling.topic, body="x")
    page = client_for(ayse).get("/statistics/")
    assert "<td>6</td>" in page.text


# --- administration --------------------------------------------------------------------------------------

def test_topics_and_agency_settings_by_org_admins(counseling: SimpleNamespace, tree: Any, kai: User,
                                                  lars: User, otto: User, client_for: Any) -> None:
    branch = tree.branch
    response = client_for(kai).post(f"/orgs/{branch.public_id}/topics/new/", {
        "name": "Sucht", "description": "", "anonymous_allowed": "on", "min_age": "14",
        "welcome_message": "Willkommen!", "retention_days": "90", "team_counseling": "on", "is_active": "on"})
    assert response.status_code == 302
    topic = Topic.objects.get(name="Sucht")
    assert topic.organization == branch and topic.team_counseling and topic.retention_days == 90
    node = counseling.agency_a.node
    saved = client_for(kai).post(f"/orgs/{node.public_id}/agency/", {
        "description": "Wir helfen.", "topics": [str(topic.pk), str(counseling.topic.pk)],
        "languages": ["de", "tr"],
        "opening_hours": "Mo-Fr 9-12", "min_age": "0", "postcode_ranges": "24000-24999\nSE 231 00-231 99"})
    assert saved.status_code == 302
    counseling.agency_a.refresh_from_db()
    assert counseling.agency_a.languages == ["de", "tr"]
    assert sorted(counseling.agency_a.postcode_ranges.values_list("country", "start", "end")) == [
        ("DE", "24000", "24999"), ("SE", "23100", "23199")]
    bad = client_for(kai).post(f"/orgs/{node.public_id}/agency/", {"topics": [], "min_age": "0",
                                                                   "postcode_ranges": "24000-2"})
    assert bad.status_code == 200 and counseling.agency_a.postcode_ranges.count() == 2
    for url in (f"/orgs/{branch.public_id}/topics/", f"/orgs/{branch.public_id}/topics/new/",
                f"/topics/{topic.public_id}/edit/", f"/orgs/{node.public_id}/agency/"):
        for intruder in (lars, otto, counseling.conversation.client):
            assert client_for(intruder).get(url).status_code == 404, (intruder, url)


# --- every view: outsiders get 404 ------------------------------------------------------------------------

def test_outsiders_get_404_everywhere(counseling: SimpleNamespace, mia: User, jonas: User, lars: User,
                                      otto: User, ben: User, client_for: Any, settings: Any,
                                      tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wegweiser.counseling.attachments import attachment_upload

    settings.ATTACHMENT_ROOT = tmp_path
    conv = counseling.conversation
    pdf = SimpleUploadedFile("a.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    attachment = attachment_upload(user=mia, conversation=conv, upload=pdf)
    carla = make_staff("carla", [(counseling.agency_a.node, Role.COUNSELOR)])
    handover = actions.handover_request(actor=jonas, conversation=conv, to_counselor=carla)
    c = conv.public_id
    gets = [f"/conversations/{c}/", f"/files/{attachment.public_id}/"]
    posts = [(f"/conversations/{c}/send/", {"body": "x"}), (f"/conversations/{c}/files/", {}),
             (f"/conversations/{c}/close/", {}), (f"/conversations/{c}/archive/", {"archived": "1"}),
             (f"/conversations/{c}/handover/", {"to_counselor": str(carla.public_id)}),
             (f"/conversations/{c}/accept/", {}), (f"/handovers/{handover.public_id}/", {"consent": "yes"})]
    last_seq = Conversation.objects.get(pk=conv.pk).last_seq
    for intruder in (lars, otto, ben):
        client = client_for(intruder)
        for url in gets:
            assert client.get(url).status_code == 404, (intruder, url)
        for url, data in posts:
            assert client.post(url, data).status_code == 404, (intruder, url)
        for url in ("/inbox/", "/absence/", "/statistics/"):
            if intruder is not lars:
                assert client.get(url).status_code == 404, (intruder, url)
    assert client_for(lars).get("/inbox/").text.count(str(c)) == 0
    assert Conversation.objects.get(pk=conv.pk).last_seq == last_seq
    assert Conversation.objects.get(pk=conv.pk).counselor == jonas
    assert client_for(jonas).get(f"/files/{attachment.public_id}/").status_code == 200
    assert client_for(None).get(f"/conversations/{c}/").status_code == 302  # to the login page
