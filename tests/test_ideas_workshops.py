"""Workshops of the needs & ideas pipeline through real endpoints: planning with linked ideas,
registration from any branch with a limit that holds under concurrency, cancelling, the outcome
report with the ideas that moved on, audit entries; bad input changes nothing; every page and
endpoint is closed to other federations, people without a role, clients and anonymous visitors,
and the organizer's pages to staff without triage."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_staff
from tests.ideas_fixtures import make_item
from wegweiser.core.models import AuditEntry
from wegweiser.ideas import actions
from wegweiser.ideas.forms_workshops import WorkshopForm
from wegweiser.ideas.models import Item, Registration, Stage, Workshop, WorkshopIdea
from wegweiser.organizations.models import Role

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def soon(days: int = 7, hours: int = 0) -> datetime:
    return (timezone.now() + timedelta(days=days, hours=hours)).replace(second=0, microsecond=0)


def plan(actor: Any, tree: SimpleNamespace, **overrides: Any) -> Workshop:
    start = overrides.pop("starts_at", soon())
    fields = {"title": "Zukunftswerkstatt Einsamkeit", "description": "Wir arbeiten an Ideen.",
              "starts_at": start, "ends_at": start + timedelta(hours=3), "place": "Kiel, Raum 3",
              "online_url": "", "capacity": 10, "items": [], "organizer": tree.fed, **overrides}
    return actions.workshop_save(actor=actor, federation=tree.fed, **fields)


def begin(workshop: Workshop) -> Workshop:
    """Let the workshop have started an hour ago (the actions refuse a start in the past)."""
    now = timezone.now()
    Workshop.objects.filter(pk=workshop.pk).update(starts_at=now - timedelta(hours=1),
                                                   ends_at=now + timedelta(hours=2))
    workshop.refresh_from_db()
    return workshop


def local(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def form(tree: SimpleNamespace, **overrides: Any) -> dict[str, Any]:
    start = soon()
    return {"title": "Werkstatt Besuchsdienste", "description": "", "organizer": str(tree.fed.public_id),
            "starts_at": local(start), "ends_at": local(start + timedelta(hours=2)), "place": "Kiel",
            "online_url": "", "capacity": "12", "more_items": "", **overrides}


def url(name: str, workshop: Workshop) -> str:
    return reverse(f"ideas:{name}", kwargs={"workshop_id": workshop.public_id})


def fed_url(name: str, tree: SimpleNamespace) -> str:
    return reverse(f"ideas:{name}", kwargs={"federation_id": tree.fed.public_id})


def audit(action: str, workshop: Workshop) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_id=str(workshop.public_id)))


def text(response: Any) -> str:
    return str(response.content.decode())


# --- planning -------------------------------------------------------------------------------------

def test_greta_plans_a_workshop_for_an_idea_from_its_page(tree: SimpleNamespace, greta: Any, idea: Item,
                                                          client_for: Any) -> None:
    client = client_for(greta)
    new = f"{fed_url('workshop_new', tree)}?item={idea.public_id}"
    page = client.get(new)
    assert page.status_code == 200
    assert f'value="{idea.public_id}"' in text(page) and "checked" in text(page)
    response = client.post(new, {**form(tree, online_url="https://meet.example.org/werkstatt"),
                                 "items": [str(idea.public_id)]})
    workshop = Workshop.objects.get()
    assert response.status_code == 302 and response.url == url("workshop", workshop)
    assert (workshop.title, workshop.organizer, workshop.created_by, workshop.capacity) == (
        "Werkstatt Besuchsdienste", tree.fed, greta, 12)
    assert workshop.online_url == "https://meet.example.org/werkstatt" and workshop.place == "Kiel"
    assert list(workshop.ideas.all()) == [idea]
    [entry] = audit("ideas.workshop_created", workshop)
    assert entry.data["items"] == [str(idea.public_id)] and entry.actor == greta.public_id
    assert "Besuchsdienste" not in json.dumps(entry.data) and "meet.example" not in json.dumps(entry.data)
    detail = text(client.get(response.url))
    assert reverse("ideas:item", kwargs={"item_id": idea.public_id}) in detail
    assert idea.stage.label in detail


def test_items_outside_the_list_are_linked_by_pasting_their_address(tree: SimpleNamespace, greta: Any,
                                                                   jonas: Any, client_for: Any) -> None:
    done = make_item(jonas, tree.agency_a, title="Längst umgesetzt")
    Item.objects.filter(pk=done.pk).update(stage=Stage.objects.get(federation=tree.fed, key="done"))
    client = client_for(greta)
    assert str(done.public_id) not in text(client.get(fed_url("workshop_new", tree)))  # closed: not offered
    address = "http://testserver" + reverse("ideas:item", kwargs={"item_id": done.public_id})
    response = client.post(fed_url("workshop_new", tree), form(tree, more_items=f"\n{address}\n"))
    assert response.status_code == 302
    assert list(Workshop.objects.get().ideas.all()) == [done]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"place": "", "online_url": ""}, "Give a place, an online link, or both."),
    ({"online_url": "http://meet.example.org/x"}, "must be a complete address starting with https://"),
    ({"online_url": "javascript:alert(1)"}, "must be a complete address starting with https://"),
    ({"title": "  "}, "This field is required"),
    ({"title": "t" * 161}, "at most 160 characters"),
    ({"capacity": "0"}, "greater than or equal to 1"),
    ({"capacity": "1001"}, "less than or equal to 1000"),
    ({"starts_at": "gestern"}, "Enter a valid date/time"),
    ({"more_items": "kein Link"}, "Line 1: this is not the address of an item."),
    ({"more_items": "00000000-0000-4000-8000-000000000000"}, "No visible item of this federation"),
    ({"organizer": "00000000-0000-4000-8000-000000000000"}, "Select a valid choice"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_stored(
        tree: SimpleNamespace, greta: Any, client_for: Any, overrides: dict[str, str], message: str) -> None:
    response = client_for(greta).post(fed_url("workshop_new", tree), form(tree, **overrides), **EN)
    assert response.status_code == 200
    assert message in text(response)
    assert not Workshop.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="ideas.workshop").exists()


def test_times_are_checked(tree: SimpleNamespace, greta: Any, client_for: Any) -> None:
    client = client_for(greta)
    start = soon()
    cases = [
        ({"ends_at": local(start - timedelta(hours=1))}, "The workshop must end after it starts."),
        ({"starts_at": local(timezone.now() - timedelta(days=1)), "ends_at": local(timezone.now())},
         "The start must lie in the future."),
        ({"ends_at": local(start + timedelta(days=20))}, "A workshop can last at most 14 days."),
    ]
    for overrides, message in cases:
        data = form(tree, **{"starts_at": local(start), **overrides})
        response = client.post(fed_url("workshop_new", tree), data, **EN)
        assert response.status_code == 200 and message in text(response), message
    assert not Workshop.objects.exists()


def test_hidden_items_and_items_of_another_federation_cannot_be_linked(
        tree: SimpleNamespace, greta: Any, jonas: Any, lars: Any, client_for: Any) -> None:
    hidden = make_item(jonas, tree.agency_a, title="Versteckt")
    Item.objects.filter(pk=hidden.pk).update(moderation=Item.Moderation.PENDING)
    hidden.refresh_from_db()
    foreign = make_item(lars, tree.other_agency, title="Anderer Verband")
    client = client_for(greta)
    for item in (hidden, foreign):
        data = form(tree, more_items=str(item.public_id))
        response = client.post(fed_url("workshop_new", tree), data, **EN)
        assert response.status_code == 200 and "No visible item of this federation" in text(response)
    assert not Workshop.objects.exists()
    # The action itself refuses them too, whoever calls it.
    for item, code in ((hidden, "hidden_item"), (foreign, "bad_item")):
        with pytest.raises(ValidationError) as refused:
            plan(greta, tree, items=[item])
        assert refused.value.code == code
    assert not Workshop.objects.exists() and not WorkshopIdea.objects.exists()
    # ?item= for either: the page does not exist (the foreign one is not even visible to greta).
    for item in (hidden, foreign):
        assert client.get(f"{fed_url('workshop_new', tree)}?item={item.public_id}").status_code == 404


def _pasted(value: str) -> list[Any]:
    workshop_form = WorkshopForm(federation=None, organizers=[], candidates=[])  # type: ignore[arg-type]
    workshop_form.cleaned_data = {"more_items": workshop_form.fields["more_items"].clean(value)}
    return workshop_form.clean_more_items()


@given(st.text(max_size=300))
def test_pasted_item_links_parse_or_fail_cleanly(value: str) -> None:
    try:
        ids = _pasted(value)
    except ValidationError as exc:
        assert exc.messages
    else:
        assert len(ids) == len([line for line in value.splitlines() if line.strip()])


@given(st.lists(st.uuids(), max_size=30),
       st.sampled_from(["{}", "https://x.example/ideas/items/{}/", " {} "]))
def test_pasted_addresses_give_their_ids(ids: list[Any], shape: str) -> None:
    assert _pasted("\n".join(shape.format(i) for i in ids)) == ids


@pytest.mark.parametrize(("overrides", "code"), [
    ({"place": "", "online_url": "ftp://example.org/x"}, "bad_url"),
    ({"capacity": True}, "bad_capacity"),
    ({"capacity": 0}, "bad_capacity"),
    ({"title": ""}, "required"),
    ({"place": "p" * 301}, "too_long"),
    ({"starts_at": datetime(2031, 1, 1, 10, 0)}, "bad_time"),  # noqa: DTZ001 - naive on purpose
])
def test_the_action_refuses_bad_input(tree: SimpleNamespace, greta: Any, overrides: dict[str, Any],
                                      code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        plan(greta, tree, **overrides)
    assert refused.value.code == code
    assert not Workshop.objects.exists()


def test_only_organizers_of_the_unit_may_plan_for_it(tree: SimpleNamespace, greta: Any, jonas: Any,
                                                    lars: Any) -> None:
    nina = make_staff("nina", [(tree.region, Role.INNOVATION)])
    with pytest.raises(ValidationError) as refused:
        plan(jonas, tree, organizer=tree.agency_a)
    assert refused.value.code == "bad_organizer"
    with pytest.raises(ValidationError):
        plan(nina, tree, organizer=tree.fed)  # above her unit
    with pytest.raises(ValidationError):
        plan(greta, tree, organizer=tree.other_agency)
    assert plan(nina, tree, organizer=tree.region).organizer == tree.region
    assert plan(greta, tree, organizer=tree.branch).organizer == tree.branch


def test_greta_changes_the_workshop_and_its_links(tree: SimpleNamespace, greta: Any, jonas: Any,
                                                 sven: Any, client_for: Any) -> None:
    first = make_item(jonas, tree.agency_a, title="Erste Idee")
    second = make_item(jonas, tree.agency_a, title="Zweite Idee")
    third = make_item(sven, tree.region_south, title="Dritte Idee")
    workshop = plan(greta, tree, items=[first, second], capacity=3)
    WorkshopIdea.objects.filter(workshop=workshop, item=first).update(moved_on=True)
    client = client_for(greta)
    page = text(client.get(url("workshop_edit", workshop)))
    assert "Zukunftswerkstatt Einsamkeit" in page and local(workshop.starts_at) in page
    data = {**form(tree, title="Neue Werkstatt", starts_at=local(workshop.starts_at),
                   ends_at=local(workshop.ends_at), capacity="5"),
            "items": [str(first.public_id), str(third.public_id)]}
    assert client.post(url("workshop_edit", workshop), data).status_code == 302
    workshop.refresh_from_db()
    assert (workshop.title, workshop.capacity) == ("Neue Werkstatt", 5)
    links = {link.item_id: link.moved_on for link in WorkshopIdea.objects.filter(workshop=workshop)}
    assert links == {first.pk: True, third.pk: False}  # the kept link keeps its mark
    assert len(audit("ideas.workshop_updated", workshop)) == 1
    # The places cannot drop below the registrations.
    actions.workshop_register(user=jonas, workshop=workshop, branch=tree.agency_a)
    actions.workshop_register(user=sven, workshop=workshop, branch=tree.region_south)
    response = client.post(url("workshop_edit", workshop), {**data, "capacity": "1"}, **EN)
    assert response.status_code == 200
    assert "2 people are registered already" in text(response)
    workshop.refresh_from_db()
    assert workshop.capacity == 5 and len(audit("ideas.workshop_updated", workshop)) == 1


# --- registration -------------------------------------------------------------------------------

def test_sven_registers_from_another_branch(tree: SimpleNamespace, greta: Any, jonas: Any, sven: Any,
                                           client_for: Any) -> None:
    workshop = plan(greta, tree, online_url="https://meet.example.org/w")
    client = client_for(sven)
    before = text(client.get(url("workshop", workshop), **EN))
    assert "https://meet.example.org/w" not in before and "shown to registered participants" in before
    response = client.post(url("workshop_register", workshop), {"branch": str(tree.region_south.public_id)})
    assert response.status_code == 302 and response.url == url("workshop", workshop)
    registration = Registration.objects.get(workshop=workshop)
    assert (registration.user, registration.branch) == (sven, tree.region_south)
    [entry] = audit("ideas.workshop_registered", workshop)
    assert entry.node == tree.region_south and entry.actor == sven.public_id
    page = text(client.get(url("workshop", workshop), **EN))
    assert "You are registered for Region Süd." in page and "https://meet.example.org/w" in page
    client_for(jonas).post(url("workshop_register", workshop), {"branch": str(tree.agency_a.public_id)})
    # Colleagues see how many come from each unit, organizers also who.
    colleague = text(client_for(jonas).get(url("workshop", workshop), **EN))
    assert "Region Süd" in colleague and "Beratungsstelle A" in colleague and "sven" not in colleague
    organizer = text(client_for(greta).get(url("workshop", workshop), **EN))
    assert "sven" in organizer and "jonas" in organizer and "2 people are registered." in organizer


def test_the_limit_holds_and_the_second_registration_is_refused(
        tree: SimpleNamespace, greta: Any, jonas: Any, sven: Any, client_for: Any) -> None:
    workshop = plan(greta, tree, capacity=1)
    assert client_for(jonas).post(url("workshop_register", workshop),
                                  {"branch": str(tree.agency_a.public_id)}).status_code == 302
    response = client_for(sven).post(url("workshop_register", workshop),
                                     {"branch": str(tree.region_south.public_id)}, follow=True, **EN)
    assert response.status_code == 200
    assert "This workshop is fully booked." in text(response)
    assert list(Registration.objects.values_list("user", flat=True)) == [jonas.pk]
    assert len(audit("ideas.workshop_registered", workshop)) == 1
    listing = text(client_for(sven).get(fed_url("workshops", tree), **EN))
    assert "0 of 1" in listing


def test_double_registration_is_refused_clearly(tree: SimpleNamespace, greta: Any, jonas: Any,
                                               client_for: Any) -> None:
    workshop = plan(greta, tree)
    client = client_for(jonas)
    data = {"branch": str(tree.agency_a.public_id)}
    client.post(url("workshop_register", workshop), data)
    response = client.post(url("workshop_register", workshop), data, follow=True, **EN)
    assert "You are registered for this workshop already." in text(response)
    assert Registration.objects.count() == 1 and len(audit("ideas.workshop_registered", workshop)) == 1


def test_registration_for_a_unit_that_is_not_ones_own_is_refused(tree: SimpleNamespace, greta: Any,
                                                                jonas: Any, client_for: Any) -> None:
    workshop = plan(greta, tree)
    response = client_for(jonas).post(url("workshop_register", workshop),
                                      {"branch": str(tree.region_south.public_id)}, follow=True, **EN)
    assert "Choose one of your own units." in text(response)
    assert not Registration.objects.exists()
    with pytest.raises(ValidationError):
        actions.workshop_register(user=jonas, workshop=workshop, branch=tree.region_south)


def test_registering_after_the_start_is_refused(tree: SimpleNamespace, greta: Any, jonas: Any,
                                               client_for: Any) -> None:
    workshop = begin(plan(greta, tree))
    response = client_for(jonas).post(url("workshop_register", workshop),
                                      {"branch": str(tree.agency_a.public_id)}, follow=True, **EN)
    assert "This workshop has started already; registration is closed." in text(response)
    assert not Registration.objects.exists() and not audit("ideas.workshop_registered", workshop)


def test_unregistering_gives_the_place_back_until_the_start(tree: SimpleNamespace, greta: Any, jonas: Any,
                                                           sven: Any, client_for: Any) -> None:
    workshop = plan(greta, tree, capacity=1)
    client = client_for(jonas)
    client.post(url("workshop_register", workshop), {"branch": str(tree.agency_a.public_id)})
    assert client.post(url("workshop_unregister", workshop)).status_code == 302
    assert not Registration.objects.exists()
    [entry] = audit("ideas.workshop_unregistered", workshop)
    assert entry.node == tree.agency_a
    again = client.post(url("workshop_unregister", workshop), follow=True, **EN)
    assert "You are not registered for this workshop." in text(again)
    actions.workshop_register(user=sven, workshop=workshop, branch=tree.region_south)  # the place is free
    begin(workshop)
    with pytest.raises(ValidationError) as refused:
        actions.workshop_unregister(user=sven, workshop=workshop)
    assert refused.value.code == "started"
    assert Registration.objects.filter(user=sven).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_never_exceed_the_places(tree: SimpleNamespace, greta: Any) -> None:
    workshop = plan(greta, tree, capacity=2)
    people = [make_staff(f"p{i}", [(tree.branch, Role.STAFF)]) for i in range(5)]
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []

    def register(user: Any) -> None:
        try:
            barrier.wait()
            actions.workshop_register(user=user, workshop=Workshop.objects.get(pk=workshop.pk),
                                      branch=tree.branch)
            outcomes.append("in")
        except ValidationError as exc:
            outcomes.append(str(exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full", "full", "full", "in", "in"]
    assert Registration.objects.filter(workshop=workshop).count() == 2
    assert len(audit("ideas.workshop_registered", workshop)) == 2


# --- cancelling and the outcome -----------------------------------------------------------------

def test_greta_cancels_and_nothing_more_can_happen(tree: SimpleNamespace, greta: Any, jonas: Any,
                                                  sven: Any, client_for: Any) -> None:
    workshop = plan(greta, tree)
    actions.workshop_register(user=jonas, workshop=workshop, branch=tree.agency_a)
    client = client_for(greta)
    confirm = client.get(url("workshop_cancel", workshop), **EN)
    assert confirm.status_code == 200 and "1 person is registered." in text(confirm)
    assert client.post(url("workshop_cancel", workshop)).status_code == 302
    workshop.refresh_from_db()
    assert workshop.cancelled_at is not None
    [entry] = audit("ideas.workshop_cancelled", workshop)
    assert entry.data == {"registrations": 1}
    response = client_for(sven).post(url("workshop_register", workshop),
                                     {"branch": str(tree.region_south.public_id)}, follow=True, **EN)
    assert "This workshop was cancelled." in text(response)
    assert Registration.objects.count() == 1
    for call in (lambda: actions.workshop_cancel(actor=greta, workshop=workshop),
                 lambda: plan(greta, tree, workshop=workshop),
                 lambda: actions.workshop_outcome(actor=greta, workshop=begin(workshop), outcome="x",
                                                  attendee_count=None, moved_on_items=[])):
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.code == "cancelled"
    listing = text(client_for(jonas).get(fed_url("workshops", tree), **EN))
    assert "cancelled" in listing


def test_a_started_workshop_cannot_be_cancelled(tree: SimpleNamespace, greta: Any, client_for: Any) -> None:
    workshop = begin(plan(greta, tree))
    response = client_for(greta).post(url("workshop_cancel", workshop), follow=True, **EN)
    assert "it can no longer be cancelled" in text(response)
    workshop.refresh_from_db()
    assert workshop.cancelled_at is None and not audit("ideas.workshop_cancelled", workshop)


def test_the_outcome_waits_for_the_start(tree: SimpleNamespace, greta: Any, idea: Item,
                                        client_for: Any) -> None:
    workshop = plan(greta, tree, items=[idea])
    client = client_for(greta)
    page = client.get(url("workshop_outcome", workshop), **EN)
    assert "once the workshop has started" in text(page)
    response = client.post(url("workshop_outcome", workshop),
                           {"outcome": "Ergebnis", "attendee_count": "4", "moved_on": [str(idea.public_id)]},
                           **EN)
    assert response.status_code == 200
    workshop.refresh_from_db()
    assert workshop.outcome == "" and workshop.outcome_at is None
    assert not WorkshopIdea.objects.filter(moved_on=True).exists()
    assert not AuditEntry.objects.filter(action__startswith="ideas.workshop_outcome")


def test_the_outcome_names_the_ideas_that_moved_on(tree: SimpleNamespace, greta: Any, jonas: Any,
                                                  client_for: Any) -> None:
    first = make_item(jonas, tree.agency_a, title="Erste Idee")
    second = make_item(jonas, tree.agency_a, title="Zweite Idee")
    other = make_item(jonas, tree.agency_a, title="Nicht verknüpft")
    workshop = begin(plan(greta, tree, items=[first, second]))
    client = client_for(greta)
    empty = client.post(url("workshop_outcome", workshop), {"outcome": "  "}, **EN)
    assert empty.status_code == 200 and "This field is required" in text(empty)
    data = {"outcome": "Zwei Prototypen vereinbart.", "attendee_count": "7",
            "moved_on": [str(first.public_id)]}
    assert client.post(url("workshop_outcome", workshop), data).status_code == 302
    workshop.refresh_from_db()
    assert (workshop.outcome, workshop.attendee_count) == ("Zwei Prototypen vereinbart.", 7)
    assert workshop.outcome_at is not None
    moved = dict(WorkshopIdea.objects.filter(workshop=workshop).values_list("item_id", "moved_on"))
    assert moved == {first.pk: True, second.pk: False}
    [entry] = audit("ideas.workshop_outcome_recorded", workshop)
    assert entry.data == {"moved_on": [str(first.public_id)], "attendees": 7}
    detail = text(client_for(jonas).get(url("workshop", workshop), **EN))
    assert "Zwei Prototypen vereinbart." in detail and "moved on" in detail
    # Corrected later: the marks follow the new report.
    data.update(moved_on=[str(second.public_id)], attendee_count="")
    assert client.post(url("workshop_outcome", workshop), data).status_code == 302
    moved = dict(WorkshopIdea.objects.filter(workshop=workshop).values_list("item_id", "moved_on"))
    assert moved == {first.pk: False, second.pk: True}
    assert len(audit("ideas.workshop_outcome_updated", workshop)) == 1
    # Only linked items can have moved on.
    bad = client.post(url("workshop_outcome", workshop), {**data, "moved_on": [str(other.public_id)]}, **EN)
    assert bad.status_code == 200 and "Select a valid choice" in text(bad)
    with pytest.raises(ValidationError) as refused:
        actions.workshop_outcome(actor=greta, workshop=workshop, outcome="x", attendee_count=1,
                                 moved_on_items=[other])
    assert refused.value.code == "not_linked"
    assert dict(WorkshopIdea.objects.filter(workshop=workshop).values_list("item_id", "moved_on")) == moved


# --- pages ----------------------------------------------------------------------------------------

def test_times_are_shown_in_the_users_zone(tree: SimpleNamespace, greta: Any, client_for: Any) -> None:
    start = datetime(2031, 1, 15, 9, 0, tzinfo=UTC)
    workshop = plan(greta, tree, starts_at=start, ends_at=start + timedelta(hours=2))
    page = text(client_for(greta).get(url("workshop", workshop)))
    assert 'datetime="2031-01-15T10:00:00+01:00"' in page  # Europe/Berlin in winter
    assert "Europe/Berlin" in page
    assert local(start) == "2031-01-15T10:00"


def test_the_list_shows_upcoming_and_past_with_free_places(tree: SimpleNamespace, greta: Any, jonas: Any,
                                                          sven: Any, client_for: Any,
                                                          django_assert_max_num_queries: Any) -> None:
    upcoming = plan(greta, tree, title="Kommende Werkstatt", capacity=5)
    actions.workshop_register(user=jonas, workshop=upcoming, branch=tree.agency_a)
    past = plan(greta, tree, title="Vergangene Werkstatt")
    Workshop.objects.filter(pk=past.pk).update(starts_at=timezone.now() - timedelta(days=3),
                                               ends_at=timezone.now() - timedelta(days=3, hours=-2))
    client = client_for(jonas)
    client.get(fed_url("workshops", tree))  # warm the session
    with django_assert_max_num_queries(17):
        page = text(client.get(fed_url("workshops", tree), **EN))
    assert page.index("Kommende Werkstatt") < page.index("Past workshops") \
        < page.index("Vergangene Werkstatt")
    assert "4 of 5" in page and "registered" in page
    assert "Plan a workshop" not in page
    assert "Plan a workshop" in text(client_for(greta).get(fed_url("workshops", tree), **EN))
    for i in range(15):
        workshop = plan(greta, tree, title=f"Werkstatt {i}", items=[make_item(sven, tree.region_south,
                                                                              title=f"Idee {i}")])
        actions.workshop_register(user=sven, workshop=workshop, branch=tree.region_south)
    with django_assert_max_num_queries(17):
        assert client.get(fed_url("workshops", tree)).status_code == 200


# --- who may do what ------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "workshops"), ("get", "workshop_new"), ("post", "workshop_new"), ("get", "workshop"),
    ("get", "workshop_edit"), ("post", "workshop_edit"), ("get", "workshop_cancel"),
    ("post", "workshop_cancel"),
    ("post", "workshop_register"), ("post", "workshop_unregister"), ("get", "workshop_outcome"),
    ("post", "workshop_outcome"),
]
ORGANIZER_ONLY = [e for e in ENDPOINTS if e[1] in {"workshop_new", "workshop_edit", "workshop_cancel",
                                                   "workshop_outcome"}]


def _call(client: Any, method: str, name: str, tree: SimpleNamespace, workshop: Workshop) -> Any:
    target = fed_url(name, tree) if name in {"workshops", "workshop_new"} else url(name, workshop)
    data = {**form(tree), "branch": str(tree.agency_a.public_id), "outcome": "Ergebnis"}
    return client.post(target, data) if method == "post" else client.get(target)


@pytest.fixture
def booked(tree: SimpleNamespace, greta: Any, jonas: Any) -> Workshop:
    """A workshop that has started, with jonas registered (so every endpoint has work to refuse)."""
    workshop = plan(greta, tree)
    actions.workshop_register(user=jonas, workshop=workshop, branch=tree.agency_a)
    return begin(workshop)


def _unchanged(workshop: Workshop) -> None:
    workshop.refresh_from_db()
    assert workshop.title == "Zukunftswerkstatt Einsamkeit" and workshop.cancelled_at is None
    assert workshop.outcome_at is None and Registration.objects.count() == 1
    assert Workshop.objects.count() == 1


@pytest.mark.parametrize(("method", "name"), ENDPOINTS)
@pytest.mark.parametrize("person", ["lars", "otto", "mia"])
def test_outsiders_get_404_everywhere(request: Any, tree: SimpleNamespace, booked: Workshop, client_for: Any,
                                      person: str, method: str, name: str) -> None:
    outsider = request.getfixturevalue(person)
    assert _call(client_for(outsider), method, name, tree, booked).status_code == 404
    _unchanged(booked)


@pytest.mark.parametrize(("method", "name"), ENDPOINTS)
def test_anonymous_visitors_are_sent_to_the_login(tree: SimpleNamespace, booked: Workshop, anon: Any,
                                                  method: str, name: str) -> None:
    response = _call(anon, method, name, tree, booked)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    _unchanged(booked)


@pytest.mark.parametrize(("method", "name"), ORGANIZER_ONLY)
def test_jonas_without_triage_gets_404_on_the_organizers_pages(tree: SimpleNamespace, booked: Workshop,
                                                               jonas: Any, client_for: Any, method: str,
                                                               name: str) -> None:
    assert _call(client_for(jonas), method, name, tree, booked).status_code == 404
    _unchanged(booked)


def test_an_organizer_of_a_region_cannot_touch_a_federation_workshop(tree: SimpleNamespace, booked: Workshop,
                                                                     client_for: Any) -> None:
    nina = make_staff("nina", [(tree.region, Role.INNOVATION)])
    client = client_for(nina)
    assert client.get(url("workshop", booked)).status_code == 200  # she reads it like every colleague
    for method, name in ORGANIZER_ONLY:
        if name != "workshop_new":
            assert _call(client, method, name, tree, booked).status_code == 404
    _unchanged(booked)
    assert client.get(fed_url("workshop_new", tree)).status_code == 200  # for her own region


def test_unknown_and_malformed_ids_are_404(tree: SimpleNamespace, greta: Any, client_for: Any) -> None:
    client = client_for(greta)
    for target in ("/ideas/workshops/not-a-uuid/", "/ideas/workshops/00000000-0000-4000-8000-000000000000/",
                   "/ideas/f/not-a-uuid/workshops/", f"/ideas/f/{tree.other_fed.public_id}/workshops/",
                   f"{fed_url('workshop_new', tree)}?item=nonsense"):
        assert client.get(target).status_code == 404, target


def test_participants_hear_of_a_moved_or_cancelled_workshop(tree: SimpleNamespace, greta: Any, sven: Any,
                                                            jonas: Any, client_for: Any) -> None:
    from wegweiser.ideas.models import Notice

    workshop = plan(greta, tree)
    actions.workshop_register(user=sven, workshop=workshop, branch=tree.region_south)
    actions.workshop_register(user=jonas, workshop=workshop, branch=tree.agency_a)
    same = {"title": "Neuer Titel", "description": "", "starts_at": workshop.starts_at,
            "ends_at": workshop.ends_at, "place": workshop.place, "online_url": "", "capacity": 10,
            "items": [], "organizer": tree.fed}
    actions.workshop_save(actor=greta, federation=tree.fed, workshop=workshop, **same)
    assert not Notice.objects.exists()  # a new title alone is no news for participants
    actions.workshop_save(actor=greta, federation=tree.fed, workshop=workshop, **{**same, "place": "Lübeck"})
    assert set(Notice.objects.filter(kind="ws_changed").values_list("user__username", flat=True)) == {
        "sven", "jonas"}
    actions.workshop_cancel(actor=greta, workshop=workshop)
    assert Notice.objects.filter(kind="ws_cancel", workshop=workshop).count() == 2
    page = client_for(sven).get(reverse("ideas:notices", kwargs={"federation_id": tree.fed.public_id}))
    assert page.status_code == 200 and "Neuer Titel" in page.content.decode()
    assert reverse("ideas:workshop", kwargs={"workshop_id": workshop.public_id}) in page.content.decode()
