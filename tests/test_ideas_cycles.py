"""Improvement cycles (the Swedish improvement model with PDSA cycles) through real endpoints:
creating a cycle for one's team (optionally for an idea), measurements for the run chart, PDSA
cycles through plan → do → study → act, closing and reopening, audit entries. Bad input gives a
clear error, keeps what was typed and stores nothing. Every page and endpoint is closed to other
federations (lars), people without a role (otto), clients (mia) and anonymous visitors; staff of
the federation outside the team (sven) read but change nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_staff
from tests.ideas_fixtures import make_item
from wegweiser.core.models import AuditEntry
from wegweiser.ideas import actions
from wegweiser.ideas.forms_cycles import NumberField
from wegweiser.ideas.models import ImprovementCycle, Item, Measurement, Pdsa
from wegweiser.organizations.models import Role

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# 12 of them session, user and usersessions bookkeeping and the staff and TOTP checks; then the
# federation, the memberships, the teams of the filter, the page's count and rows, and the
# navigation's unread notices: 18, whether there are 3 cycles or 25.
LIST_QUERIES = 18


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(days: int) -> datetime.date:
    return today() - datetime.timedelta(days=days)


def start_cycle(actor: Any, team: Any, **overrides: Any) -> ImprovementCycle:
    federation = type(team).objects.get(path=team.federation_path)
    fields = {"title": "Schneller zum Erstgespräch", "aim": "Wartezeit bis zum Erstgespräch halbieren.",
              "measure": "Wartetage bis zum Erstgespräch", "measure_unit": "Tage", "higher_is_better": False,
              "baseline": Decimal("14"), "change_idea": "Offene Sprechstunde am Montag.", **overrides}
    return actions.cycle_create(actor=actor, federation=federation, team=team, **fields)


@pytest.fixture
def cycle(tree: SimpleNamespace, jonas: Any) -> ImprovementCycle:
    return start_cycle(jonas, tree.agency_a)


def cycle_form(team: Any, **overrides: Any) -> dict[str, Any]:
    return {"team": str(team.public_id), "title": "Weniger Papier", "aim": "Formulare digital ausfüllen.",
            "measure": "Papierformulare pro Woche", "measure_unit": "Stück", "direction": "lower",
            "baseline": "40", "change_idea": "Tablet am Empfang.", **overrides}


def url(name: str, cycle: ImprovementCycle | None = None, **kwargs: Any) -> str:
    if cycle is not None:
        kwargs["cycle_id"] = cycle.public_id
    return reverse(f"ideas:{name}", kwargs=kwargs)


def audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def no_free_text(entry: AuditEntry, *texts: str) -> None:
    dump = str(entry.data)
    for text in texts:
        assert text not in dump


# -- creating and editing a cycle ------------------------------------------------------------------
def test_jonas_starts_a_cycle_for_his_team(tree: SimpleNamespace, jonas: Any, client_for: Any) -> None:
    client = client_for(jonas)
    page = client.get(url("cycle_new", federation_id=tree.fed.public_id), **EN)
    assert page.status_code == 200
    assert "Aim: what are we trying to accomplish?" in page.content.decode()
    response = client.post(url("cycle_new", federation_id=tree.fed.public_id), cycle_form(tree.agency_a))
    cycle = ImprovementCycle.objects.get()
    assert response.status_code == 302 and response["Location"] == url("cycle", cycle)
    assert (cycle.team, cycle.federation, cycle.created_by) == (tree.agency_a, tree.fed, jonas)
    assert cycle.item is None
    assert (cycle.baseline, cycle.higher_is_better, cycle.measure_unit) == (Decimal("40.00"), False, "Stück")
    [entry] = audit("ideas.cycle_created")
    assert entry.object_id == str(cycle.public_id) and entry.node == tree.agency_a
    assert entry.actor == jonas.public_id and entry.data == {"item": None}
    detail = client.get(url("cycle", cycle), **EN).content.decode()
    for question in ("What are we trying to accomplish?", "How will we know that a change is an improvement?",
                     "What change can we make that will result in improvement?"):
        assert question in detail
    assert "Formulare digital ausfüllen." in detail and "Lower values are better." in detail


def test_a_cycle_for_an_idea_links_back_to_it(tree: SimpleNamespace, jonas: Any, idea: Item,
                                              client_for: Any) -> None:
    client = client_for(jonas)
    new = url("cycle_new", federation_id=tree.fed.public_id) + f"?item={idea.public_id}"
    assert idea.title in client.get(new).content.decode()
    client.post(new, cycle_form(tree.agency_a, baseline="12,5"))
    cycle = ImprovementCycle.objects.get()
    assert cycle.item == idea and cycle.baseline == Decimal("12.50")
    assert audit("ideas.cycle_created")[0].data == {"item": str(idea.public_id)}
    detail = client.get(url("cycle", cycle)).content.decode()
    assert reverse("ideas:item", kwargs={"item_id": idea.public_id}) in detail


def test_an_idea_of_another_federation_or_a_hidden_one_cannot_be_linked(
        tree: SimpleNamespace, jonas: Any, lars: Any, ayse: Any, client_for: Any) -> None:
    foreign = make_item(lars, tree.other_agency)
    client = client_for(jonas)
    for item_id in (foreign.public_id, "not-a-uuid"):
        new = url("cycle_new", federation_id=tree.fed.public_id) + f"?item={item_id}"
        assert client.get(new).status_code == 404
        assert client.post(new, cycle_form(tree.agency_a)).status_code == 404
    hidden = make_item(ayse, tree.agency_a, title="Versteckt")
    Item.objects.filter(pk=hidden.pk).update(moderation=Item.Moderation.PENDING)
    hidden.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        start_cycle(ayse, tree.agency_a, item=hidden)
    assert refused.value.error_dict["item"][0].code == "bad_item"
    with pytest.raises(ValidationError):
        start_cycle(lars, tree.other_agency, item=make_item(jonas, tree.agency_a, title="Fremd"))
    assert not ImprovementCycle.objects.exists()


def test_bad_input_on_create_shows_every_error_keeps_the_text_and_stores_nothing(
        tree: SimpleNamespace, jonas: Any, client_for: Any) -> None:
    client = client_for(jonas)
    typed = cycle_form(tree.agency_a, title="", aim="x" * 1001, baseline="vierzig",
                       change_idea="Meine sorgfältig <formulierte> Idee")
    response = client.post(url("cycle_new", federation_id=tree.fed.public_id), typed, **EN)
    body = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in body
    assert "Ensure this value has at most 1000 characters (it has 1001)." in body
    assert "Enter a number such as 12 or 12,5." in body
    assert "Meine sorgfältig &lt;formulierte&gt; Idee" in body and 'value="vierzig"' in body
    assert "Papierformulare pro Woche" in body
    assert not ImprovementCycle.objects.exists() and not audit("ideas.cycle_created")


@pytest.mark.parametrize(("baseline", "message"), [
    ("1.234", "Baseline: at most two decimal places."),
    ("99999999999", "Baseline: the number is too large"),
])
def test_the_action_refuses_numbers_the_column_cannot_hold(tree: SimpleNamespace, jonas: Any, client_for: Any,
                                                           baseline: str, message: str) -> None:
    response = client_for(jonas).post(url("cycle_new", federation_id=tree.fed.public_id),
                                      cycle_form(tree.agency_a, baseline=baseline), **EN)
    body = response.content.decode()
    assert response.status_code == 200 and message in body
    assert 'id="id_baseline_error"' in body  # beside the field, not only above the form
    assert not ImprovementCycle.objects.exists()


def test_the_team_must_be_one_of_ones_own_units(tree: SimpleNamespace, jonas: Any, client_for: Any) -> None:
    response = client_for(jonas).post(url("cycle_new", federation_id=tree.fed.public_id),
                                      cycle_form(tree.agency_b), **EN)
    assert response.status_code == 200 and "Select a valid choice." in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        start_cycle(jonas, tree.agency_b)
    assert refused.value.error_dict["team"][0].code == "bad_team"
    assert not ImprovementCycle.objects.exists()


def test_the_action_checks_text_lengths_and_required_texts(tree: SimpleNamespace, jonas: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        start_cycle(jonas, tree.agency_a, title="  ", measure="m" * 201, change_idea="")
    assert set(refused.value.error_dict) == {"title", "measure", "change_idea"}
    assert not ImprovementCycle.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="ideas.cycle")


def test_the_team_edits_the_three_questions(cycle: ImprovementCycle, ayse: Any, client_for: Any) -> None:
    client = client_for(ayse)  # same agency as jonas, who started it
    assert client.get(url("cycle_edit", cycle)).status_code == 200
    data = {"title": cycle.title, "aim": "Wartezeit auf 5 Tage senken.", "measure": cycle.measure,
            "measure_unit": "Tage", "direction": "lower", "baseline": "14", "change_idea": cycle.change_idea}
    assert client.post(url("cycle_edit", cycle), data).status_code == 302
    cycle.refresh_from_db()
    assert cycle.aim == "Wartezeit auf 5 Tage senken."
    [entry] = audit("ideas.cycle_updated")
    assert entry.data == {"fields": ["aim"]} and entry.actor == ayse.public_id
    client.post(url("cycle_edit", cycle), data)  # nothing changed: no entry
    assert len(audit("ideas.cycle_updated")) == 1
    refused = client.post(url("cycle_edit", cycle), {**data, "aim": ""}, **EN)
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    cycle.refresh_from_db()
    assert cycle.aim == "Wartezeit auf 5 Tage senken."


def test_closing_and_reopening(cycle: ImprovementCycle, jonas: Any, client_for: Any) -> None:
    client = client_for(jonas)
    assert client.post(url("cycle_close", cycle)).status_code == 302
    cycle.refresh_from_db()
    assert cycle.closed_at is not None and len(audit("ideas.cycle_closed")) == 1
    page = client.get(url("cycle", cycle), **EN).content.decode()
    assert "Reopen the improvement cycle" in page and "Add a value" not in page
    refused = client.post(url("measurement_add", cycle), {"date": today().isoformat(), "value": "3"}, **EN)
    assert "This improvement cycle is closed. Reopen it to change it." in refused.content.decode()
    assert 'value="3"' in refused.content.decode()
    assert not Measurement.objects.exists()
    with pytest.raises(ValidationError):
        actions.cycle_close(actor=jonas, cycle=cycle)
    with pytest.raises(ValidationError):
        actions.pdsa_start(actor=jonas, cycle=cycle, plan="p", prediction="q")
    with pytest.raises(ValidationError):
        actions.cycle_update(actor=jonas, cycle=cycle, title="t", aim="a", measure="m", measure_unit="",
                             higher_is_better=True, baseline=Decimal(1), change_idea="c")
    assert client.post(url("cycle_reopen", cycle)).status_code == 302
    cycle.refresh_from_db()
    assert cycle.closed_at is None and len(audit("ideas.cycle_reopened")) == 1
    response = client.post(url("cycle_reopen", cycle), follow=True, **EN)
    assert "This improvement cycle is open already." in response.content.decode()


# -- measurements ----------------------------------------------------------------------------------
def test_measurements_build_the_run_chart_and_its_table(cycle: ImprovementCycle, jonas: Any,
                                                        client_for: Any) -> None:
    client = client_for(jonas)
    for days, value in ((35, "14"), (28, "13,5"), (21, "12"), (14, "11"), (7, "9.25"), (0, "8")):
        response = client.post(url("measurement_add", cycle), {"date": days_ago(days).isoformat(),
                                                               "value": value, "note": ""})
        assert response.status_code == 302 and response["Location"] == url("cycle", cycle) + "#measurements"
    assert [m.value for m in cycle.measurements.all()] == [Decimal(v) for v in
                                                          ("14", "13.5", "12", "11", "9.25", "8")]
    entries = audit("ideas.measurement_added")
    assert len(entries) == 6 and entries[0].data == {"date": days_ago(35).isoformat()}
    assert entries[0].object_id == str(cycle.public_id)
    page = client.get(url("cycle", cycle), **EN).content.decode()
    assert '<svg class="runchart"' in page and 'role="img"' in page
    assert "Values of the measure" in page and "9.25 Tage" in page  # the table: the text alternative
    assert "Trend: 6 values in a row, each lower than the one before" in page
    assert "The measure got better." in page  # lower is better for waiting days
    assert "style=" not in page


def test_a_measurement_with_a_note_and_its_deletion(cycle: ImprovementCycle, jonas: Any,
                                                    client_for: Any) -> None:
    client = client_for(jonas)
    client.post(url("measurement_add", cycle), {"date": days_ago(1).isoformat(), "value": "7",
                                                "note": "Zwei Kolleginnen <krank>"})
    measurement = Measurement.objects.get()
    assert measurement.note == "Zwei Kolleginnen <krank>"
    assert "Kolleginnen" not in str(audit("ideas.measurement_added")[0].data)
    page = client.get(url("cycle", cycle)).content.decode()
    assert "Zwei Kolleginnen &lt;krank&gt;" in page
    response = client.post(url("measurement_delete", cycle), {"date": days_ago(1).isoformat()})
    assert response.status_code == 302 and not Measurement.objects.exists()
    assert audit("ideas.measurement_deleted")[0].data == {"date": days_ago(1).isoformat()}
    again = client.post(url("measurement_delete", cycle), {"date": days_ago(1).isoformat()}, follow=True,
                        **EN)
    assert "There is no value for this date." in again.content.decode()
    assert client.post(url("measurement_delete", cycle), {"date": "gestern"}).status_code == 404
    assert len(audit("ideas.measurement_deleted")) == 1


@pytest.mark.parametrize(("data", "message"), [
    ({"date": "", "value": "5"}, "This field is required."),
    ({"date": "2020-02-30", "value": "5"}, "Enter a valid date."),
    ({"date": "tomorrow", "value": "5"}, "future"),
    ({"date": "six years ago", "value": "5"}, "Date: the date cannot be more than 5 years ago."),
    ({"value": ""}, "This field is required."),
    ({"value": "zwölf"}, "Enter a number such as 12 or 12,5."),
    ({"value": "1e5"}, "Enter a number such as 12 or 12,5."),
    ({"value": "NaN"}, "Enter a number such as 12 or 12,5."),
    ({"value": "3,125"}, "Value: at most two decimal places."),
    ({"value": "12345678901"}, "Value: the number is too large"),
    ({"value": "1" * 30}, "This number is too long."),
    ({"note": "n" * 201}, "Ensure this value has at most 200 characters (it has 201)."),
])
def test_bad_measurements_are_refused_and_keep_what_was_typed(cycle: ImprovementCycle, jonas: Any,
                                                              client_for: Any, data: dict[str, str],
                                                              message: str) -> None:
    data = {"date": days_ago(2).isoformat(), "value": "5", "note": "Notiz bleibt", **data}
    if data["date"] == "tomorrow":
        data["date"] = (today() + datetime.timedelta(days=1)).isoformat()
        message = "Date: the date cannot be in the future."
    elif data["date"] == "six years ago":
        data["date"] = days_ago(6 * 366).isoformat()
    response = client_for(jonas).post(url("measurement_add", cycle), data, **EN)
    body = response.content.decode()
    assert response.status_code == 200 and message in body
    assert 'value="Notiz bleibt"' in body or "n" * 201 in body
    assert not Measurement.objects.exists() and not audit("ideas.measurement_added")


def test_one_value_per_date(cycle: ImprovementCycle, jonas: Any, client_for: Any) -> None:
    client = client_for(jonas)
    client.post(url("measurement_add", cycle), {"date": days_ago(3).isoformat(), "value": "4"})
    response = client.post(url("measurement_add", cycle), {"date": days_ago(3).isoformat(), "value": "6"},
                           **EN)
    assert "There is a value for this date already." in response.content.decode()
    assert [m.value for m in Measurement.objects.all()] == [Decimal(4)]


def test_measurement_limit(cycle: ImprovementCycle, jonas: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(actions.cycles, "MAX_MEASUREMENTS", 2)
    for days in (3, 2):
        actions.measurement_add(actor=jonas, cycle=cycle, date=days_ago(days), value=Decimal(1))
    with pytest.raises(ValidationError) as refused:
        actions.measurement_add(actor=jonas, cycle=cycle, date=days_ago(1), value=Decimal(1))
    assert refused.value.code == "too_many" and Measurement.objects.count() == 2


def test_a_measurement_five_years_ago_is_still_accepted(cycle: ImprovementCycle, jonas: Any) -> None:
    oldest = actions.cycles.earliest_date(today())
    actions.measurement_add(actor=jonas, cycle=cycle, date=oldest, value=Decimal("-2.5"))
    assert Measurement.objects.get().value == Decimal("-2.50")
    assert actions.cycles.earliest_date(datetime.date(2028, 2, 29)) == datetime.date(2023, 2, 28)


@given(st.decimals(min_value=-9999999999, max_value=9999999999, places=2, allow_nan=False,
                   allow_infinity=False))
def test_number_field_reads_german_and_english_writing(value: Decimal) -> None:
    field = NumberField()
    plain = f"{value:f}"
    assert field.clean(plain) == value
    assert field.clean(plain.replace(".", ",")) == value
    grouped = f"{value:,.2f}"  # 1,234,567.50
    assert field.clean(grouped) == value
    assert field.clean(grouped.replace(",", " ").replace(".", ",")) == value  # 1 234 567,50


# -- PDSA cycles -----------------------------------------------------------------------------------
def pdsa_data(**overrides: Any) -> dict[str, str]:
    return {"plan": "Offene Sprechstunde am Montag, 9–12 Uhr, Jonas und Ayse.",
            "prediction": "Die Hälfte der neuen Anfragen kommt am Montag.", "do_notes": "", "study": "",
            "decision": "", "act_notes": "", "ended_on": "", **overrides}


@pytest.mark.parametrize("decision", ["adopt", "adapt", "abandon"])
def test_a_pdsa_cycle_from_plan_to_act(cycle: ImprovementCycle, jonas: Any, client_for: Any,
                                       decision: str) -> None:
    client = client_for(jonas)
    response = client.post(url("pdsa_start", cycle), {"plan": "Sprechstunde montags",
                                                      "prediction": "Halb so lang",
                                                      "started_on": days_ago(10).isoformat()})
    pdsa = Pdsa.objects.get()
    assert response.status_code == 302 and response["Location"] == url("cycle", cycle) + "#pdsa-1"
    assert (pdsa.number, pdsa.started_on, pdsa.decision, pdsa.ended_on) == (1, days_ago(10), "", None)
    [started] = audit("ideas.pdsa_started")
    assert started.data == {"cycle": str(cycle.public_id), "number": 1}
    assert started.object_id == str(pdsa.public_id)
    update = url("pdsa_update", cycle, pdsa_id=pdsa.public_id)
    steps = [{"do_notes": "Drei Montage ausprobiert."},
             {"do_notes": "Drei Montage ausprobiert.", "study": "Wartezeit von 14 auf 9 Tage."},
             {"do_notes": "Drei Montage ausprobiert.", "study": "Wartezeit von 14 auf 9 Tage.",
              "decision": decision, "act_notes": "Weiter so."}]
    for step in steps:
        response = client.post(update, pdsa_data(plan="Sprechstunde montags", prediction="Halb so lang",
                                                  **step))
        assert response.status_code == 302
    pdsa.refresh_from_db()
    assert (pdsa.plan, pdsa.prediction) == ("Sprechstunde montags", "Halb so lang")
    assert (pdsa.do_notes, pdsa.study, pdsa.decision, pdsa.act_notes, pdsa.ended_on) == (
        "Drei Montage ausprobiert.", "Wartezeit von 14 auf 9 Tage.", decision, "Weiter so.", today())
    assert [e.data["steps"] for e in audit("ideas.pdsa_updated")] == [["do"], ["study"], ["act"]]
    assert audit("ideas.pdsa_updated")[-1].data["decision"] == decision
    for entry in audit("ideas.pdsa_updated"):
        no_free_text(entry, "Montage", "Wartezeit", "Weiter")
    page = client.get(url("cycle", cycle), **EN).content.decode()
    assert "PDSA cycle 1" in page and "Plan the next PDSA cycle" in page
    assert f'class="decision decision-{decision}"' in page
    second = client.post(url("pdsa_start", cycle), {"plan": "Auch dienstags", "prediction": "Noch kürzer",
                                                    "started_on": today().isoformat()})
    assert second.status_code == 302 and [p.number for p in Pdsa.objects.all()] == [1, 2]


def test_the_plan_can_be_corrected_until_the_test_is_done(cycle: ImprovementCycle, jonas: Any,
                                                          client_for: Any) -> None:
    pdsa = actions.pdsa_start(actor=jonas, cycle=cycle, plan="Plan A", prediction="Vorhersage A")
    client = client_for(jonas)
    update = url("pdsa_update", cycle, pdsa_id=pdsa.public_id)
    client.post(update, pdsa_data(plan="Plan B", prediction="Vorhersage B"))
    pdsa.refresh_from_db()
    assert (pdsa.plan, pdsa.prediction) == ("Plan B", "Vorhersage B")
    assert audit("ideas.pdsa_updated")[0].data["steps"] == ["plan"]
    client.post(update, pdsa_data(plan="Plan B", prediction="Vorhersage B", do_notes="Gemacht"))
    client.post(update, pdsa_data(plan="Plan C", prediction="Im Nachhinein klüger", do_notes="Gemacht"))
    pdsa.refresh_from_db()
    assert (pdsa.plan, pdsa.prediction) == ("Plan B", "Vorhersage B")  # disabled fields are not taken
    with pytest.raises(ValidationError) as refused:
        actions.pdsa_update(actor=jonas, pdsa=pdsa, plan="Plan C", prediction="Anders", do_notes="Gemacht",
                            study="")
    assert refused.value.error_dict["prediction"][0].code == "plan_fixed"


@pytest.mark.parametrize(("data", "message", "code"), [
    ({"plan": "", "prediction": ""}, "This field is required.", None),
    ({"do_notes": "d" * 1001}, "Ensure this value has at most 1000 characters (it has 1001).", None),
    ({"study": "Kürzer geworden."}, "Describe what happened (Do) before you write down the study results.",
     "study_before_do"),
    ({"do_notes": "Gemacht", "decision": "adopt"}, "Write down the study results before you decide (Act).",
     "act_before_study"),
    ({"do_notes": "Gemacht", "study": "Gelernt", "decision": "scale_up"}, "Select a valid choice.", None),
    ({"do_notes": "Gemacht", "study": "Gelernt", "decision": "adopt", "ended_on": "tomorrow"},
     "End: the date cannot be in the future.", "future_date"),
    ({"do_notes": "Gemacht", "study": "Gelernt", "decision": "adapt", "ended_on": "before"},
     "The end cannot be before the start.", "end_before_start"),
])
def test_bad_pdsa_steps_are_refused_and_keep_what_was_typed(cycle: ImprovementCycle, jonas: Any,
                                                            client_for: Any, data: dict[str, str],
                                                            message: str, code: str | None) -> None:
    pdsa = actions.pdsa_start(actor=jonas, cycle=cycle, plan="Plan", prediction="Vorhersage",
                              started_on=days_ago(3))
    if data.get("ended_on") == "tomorrow":
        data = {**data, "ended_on": (today() + datetime.timedelta(days=1)).isoformat()}
    elif data.get("ended_on") == "before":
        data = {**data, "ended_on": days_ago(4).isoformat()}
    response = client_for(jonas).post(url("pdsa_update", cycle, pdsa_id=pdsa.public_id),
                                      pdsa_data(**data), **EN)
    body = response.content.decode()
    assert response.status_code == 200 and message in body
    for typed in data.values():
        if typed and len(typed) < 100 and typed not in ("scale_up", "adopt", "adapt"):
            assert typed in body
    stored = Pdsa.objects.get()
    assert (stored.plan, stored.do_notes, stored.study, stored.decision, stored.ended_on) == (
        "Plan", "", "", "", None)
    assert not audit("ideas.pdsa_updated")
    if code:
        kwargs = pdsa_data(**data)
        kwargs["ended_on"] = datetime.date.fromisoformat(kwargs["ended_on"]) if kwargs["ended_on"] else None
        with pytest.raises(ValidationError) as refused:
            actions.pdsa_update(actor=jonas, pdsa=stored, **kwargs)
        assert code in {e.code for errors in refused.value.error_dict.values() for e in errors}


def test_a_second_pdsa_waits_for_the_act_decision_of_the_first(cycle: ImprovementCycle, jonas: Any,
                                                               client_for: Any) -> None:
    first = actions.pdsa_start(actor=jonas, cycle=cycle, plan="Plan 1", prediction="Vorhersage 1")
    client = client_for(jonas)
    page = client.get(url("cycle", cycle), **EN).content.decode()
    assert "Plan the next PDSA cycle" not in page and "Save the PDSA cycle" in page
    response = client.post(url("pdsa_start", cycle), {"plan": "Plan 2 sorgfältig",
                                                      "prediction": "Vorhersage 2",
                                                      "started_on": today().isoformat()}, **EN)
    body = response.content.decode()
    assert response.status_code == 200
    assert "PDSA cycle 1 has no Act decision yet." in body and "Plan 2 sorgfältig" in body
    assert list(Pdsa.objects.all()) == [first] and len(audit("ideas.pdsa_started")) == 1


def test_pdsa_start_needs_plan_and_prediction_and_a_sensible_date(cycle: ImprovementCycle, jonas: Any,
                                                                  client_for: Any) -> None:
    client = client_for(jonas)
    response = client.post(url("pdsa_start", cycle), {"plan": "", "prediction": "Nur Vorhersage",
                                                      "started_on": today().isoformat()}, **EN)
    body = response.content.decode()
    assert "This field is required." in body and "Nur Vorhersage" in body
    future = (today() + datetime.timedelta(days=2)).isoformat()
    response = client.post(url("pdsa_start", cycle), {"plan": "P", "prediction": "V", "started_on": future},
                           **EN)
    assert "Start: the date cannot be in the future." in response.content.decode()
    assert not Pdsa.objects.exists()
    first = actions.pdsa_start(actor=jonas, cycle=cycle, plan="P", prediction="V", started_on=days_ago(5))
    actions.pdsa_update(actor=jonas, pdsa=first, do_notes="D", study="S", decision="adapt")
    with pytest.raises(ValidationError) as refused:
        actions.pdsa_start(actor=jonas, cycle=cycle, plan="P2", prediction="V2", started_on=days_ago(6))
    assert refused.value.error_dict["started_on"][0].code == "before_previous"


def test_a_decided_pdsa_is_final(cycle: ImprovementCycle, jonas: Any, client_for: Any) -> None:
    pdsa = actions.pdsa_start(actor=jonas, cycle=cycle, plan="P", prediction="V")
    actions.pdsa_update(actor=jonas, pdsa=pdsa, do_notes="D", study="S", decision="abandon")
    response = client_for(jonas).post(url("pdsa_update", cycle, pdsa_id=pdsa.public_id),
                                      pdsa_data(do_notes="D", study="Umgeschrieben", decision="adopt"), **EN)
    assert "PDSA cycle 1 is decided and can no longer be changed." in response.content.decode()
    assert "Umgeschrieben" in response.content.decode()
    pdsa.refresh_from_db()
    assert (pdsa.study, pdsa.decision) == ("S", "abandon")


def test_a_pdsa_of_another_cycle_is_404(cycle: ImprovementCycle, tree: SimpleNamespace, jonas: Any,
                                        client_for: Any) -> None:
    other = start_cycle(jonas, tree.agency_a, title="Zweiter Zyklus")
    pdsa = actions.pdsa_start(actor=jonas, cycle=other, plan="P", prediction="V")
    client = client_for(jonas)
    assert client.post(url("pdsa_update", cycle, pdsa_id=pdsa.public_id), pdsa_data()).status_code == 404
    assert client.post(url("pdsa_update", cycle, pdsa_id="nope"), pdsa_data()).status_code == 404


def test_pdsa_starts_are_marked_on_the_run_chart(cycle: ImprovementCycle, jonas: Any,
                                                 client_for: Any) -> None:
    for days, value in ((20, 14), (10, 12), (0, 9)):
        actions.measurement_add(actor=jonas, cycle=cycle, date=days_ago(days), value=Decimal(value))
    actions.pdsa_start(actor=jonas, cycle=cycle, plan="P", prediction="V", started_on=days_ago(15))
    page = client_for(jonas).get(url("cycle", cycle), **EN).content.decode()
    assert "PDSA 1</text>" in page and "Start of a PDSA cycle" in page
    assert "With fewer than 10 values these rules are only a first hint." in page


# -- the list --------------------------------------------------------------------------------------
def test_the_list_shows_own_teams_first_and_filters_by_team(tree: SimpleNamespace, jonas: Any, sven: Any,
                                                            kai: Any, client_for: Any,
                                                            django_assert_max_num_queries: Any) -> None:
    own = start_cycle(jonas, tree.agency_a, title="Eigener Zyklus")
    south = start_cycle(sven, tree.region_south, title="Zyklus im Süden")
    branch = start_cycle(kai, tree.branch, title="Zyklus des Kreisverbands")
    for i in range(3):
        actions.measurement_add(actor=jonas, cycle=own, date=days_ago(i), value=Decimal(i))
    actions.pdsa_start(actor=sven, cycle=south, plan="P", prediction="V")
    client = client_for(jonas)
    client.get(url("cycles", federation_id=tree.fed.public_id))  # the session's first request records it
    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(url("cycles", federation_id=tree.fed.public_id), **EN)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index("Your teams") < body.index("Eigener Zyklus") < body.index("Other teams")
    assert body.index("Other teams") < body.index("Zyklus im Süden")
    assert body.index("Other teams") < body.index("Zyklus des Kreisverbands")
    assert "3 values" in body and "1 PDSA cycle" in body
    # kai works at the branch, above agency A: both the branch's and agency A's cycles are his
    kai_body = client_for(kai).get(url("cycles", federation_id=tree.fed.public_id)).content.decode()
    assert kai_body.index("Zyklus des Kreisverbands") < kai_body.index("Zyklus im Süden")
    assert kai_body.index("Eigener Zyklus") < kai_body.index("Zyklus im Süden")
    filtered = client.get(url("cycles", federation_id=tree.fed.public_id),
                          {"team": str(tree.region_south.public_id)}).content.decode()
    assert "Zyklus im Süden" in filtered and "Eigener Zyklus" not in filtered
    unknown = client.get(url("cycles", federation_id=tree.fed.public_id), {"team": "x"}).content.decode()
    assert "Eigener Zyklus" in unknown and "Zyklus im Süden" in unknown
    assert branch.title in unknown


def test_the_list_query_count_does_not_grow_with_cycles(tree: SimpleNamespace, jonas: Any, client_for: Any,
                                                        django_assert_max_num_queries: Any,
                                                        idea: Item) -> None:
    for i in range(25):
        cycle = start_cycle(jonas, tree.agency_a, title=f"Zyklus {i}", item=idea)
        actions.measurement_add(actor=jonas, cycle=cycle, date=days_ago(1), value=Decimal(i))
        actions.pdsa_start(actor=jonas, cycle=cycle, plan="P", prediction="V")
    client = client_for(jonas)
    client.get(url("cycles", federation_id=tree.fed.public_id))
    with django_assert_max_num_queries(LIST_QUERIES):
        body = client.get(url("cycles", federation_id=tree.fed.public_id)).content.decode()
    assert body.count(idea.title) == 25


def test_the_linked_idea_is_not_shown_once_a_moderator_hid_it(cycle: ImprovementCycle, tree: SimpleNamespace,
                                                              jonas: Any, ayse: Any, client_for: Any) -> None:
    item = make_item(ayse, tree.agency_a, title="Bald versteckte Idee")
    linked = start_cycle(jonas, tree.agency_a, title="Mit Idee", item=item)
    Item.objects.filter(pk=item.pk).update(moderation=Item.Moderation.PENDING)
    client = client_for(jonas)
    assert "Bald versteckte Idee" not in client.get(url("cycle", linked)).content.decode()
    listed = client.get(url("cycles", federation_id=tree.fed.public_id)).content.decode()
    assert "Bald versteckte Idee" not in listed


# -- permissions -----------------------------------------------------------------------------------
@pytest.fixture
def endpoints(cycle: ImprovementCycle, tree: SimpleNamespace, jonas: Any) -> SimpleNamespace:
    actions.measurement_add(actor=jonas, cycle=cycle, date=days_ago(1), value=Decimal(5))
    pdsa = actions.pdsa_start(actor=jonas, cycle=cycle, plan="P", prediction="V")
    reads = [url("cycles", federation_id=tree.fed.public_id), url("cycle", cycle)]
    create = url("cycle_new", federation_id=tree.fed.public_id)
    changes = [
        (url("cycle_edit", cycle), {"title": "Übernommen", "aim": "a", "measure": "m", "measure_unit": "",
                                    "direction": "higher", "baseline": "1", "change_idea": "c"}),
        (url("cycle_close", cycle), {}),
        (url("cycle_reopen", cycle), {}),
        (url("measurement_add", cycle), {"date": today().isoformat(), "value": "9"}),
        (url("measurement_delete", cycle), {"date": days_ago(1).isoformat()}),
        (url("pdsa_start", cycle), {"plan": "P", "prediction": "V", "started_on": today().isoformat()}),
        (url("pdsa_update", cycle, pdsa_id=pdsa.public_id), pdsa_data(do_notes="Übernommen")),
    ]
    return SimpleNamespace(reads=reads, create=create, changes=changes, cycle=cycle, pdsa=pdsa)


def state(cycle: ImprovementCycle) -> tuple[Any, ...]:
    cycle.refresh_from_db()
    return (cycle.title, cycle.closed_at, list(Measurement.objects.values_list("date", "value")),
            list(Pdsa.objects.values_list("number", "do_notes")), AuditEntry.objects.count())


@pytest.mark.parametrize("who", ["lars", "otto", "mia"])
def test_other_federations_people_without_a_role_and_clients_get_404_everywhere(
        endpoints: SimpleNamespace, who: str, request: Any, client_for: Any, tree: SimpleNamespace) -> None:
    client = client_for(request.getfixturevalue(who))
    before = state(endpoints.cycle)
    for page in [*endpoints.reads, endpoints.create, endpoints.changes[0][0]]:
        assert client.get(page).status_code == 404, page
    assert client.post(endpoints.create, cycle_form(tree.agency_a)).status_code == 404
    for page, data in endpoints.changes:
        assert client.post(page, data).status_code == 404, page
    assert state(endpoints.cycle) == before and ImprovementCycle.objects.count() == 1


def test_lars_cannot_start_a_cycle_in_another_federation_even_for_its_units(
        tree: SimpleNamespace, lars: Any) -> None:
    with pytest.raises(ValidationError):
        start_cycle(lars, tree.agency_a)
    assert not ImprovementCycle.objects.exists()


def test_an_anonymous_visitor_is_sent_to_the_login(endpoints: SimpleNamespace, anon: Any) -> None:
    before = state(endpoints.cycle)
    for page in [*endpoints.reads, endpoints.create, endpoints.changes[0][0]]:
        response = anon.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], page
    for page, data in [(endpoints.create, {}), *endpoints.changes]:
        response = anon.post(page, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], page
    assert state(endpoints.cycle) == before


def test_sven_of_another_unit_reads_but_changes_nothing(endpoints: SimpleNamespace, sven: Any,
                                                        client_for: Any, tree: SimpleNamespace) -> None:
    client = client_for(sven)
    before = state(endpoints.cycle)
    for page in endpoints.reads:
        assert client.get(page).status_code == 200, page
    page = client.get(url("cycle", endpoints.cycle), **EN).content.decode()
    assert "Schneller zum Erstgespräch" in page and "Values of the measure" in page
    for form in ("Add a value", "Save the PDSA cycle", "Close the improvement cycle", "Delete",
                 '<form method="post" action="/ideas/'):
        assert form not in page
    assert client.get(endpoints.changes[0][0]).status_code == 404
    for target, data in endpoints.changes:
        assert client.post(target, data).status_code == 404, target
    assert state(endpoints.cycle) == before
    # his own unit's cycle he may start, but not for agency A
    assert client.get(endpoints.create).status_code == 200
    assert client.post(endpoints.create, cycle_form(tree.agency_a)).status_code == 200
    assert ImprovementCycle.objects.count() == 1


def test_the_actions_check_the_team_again(endpoints: SimpleNamespace, sven: Any, lars: Any) -> None:
    cycle, pdsa = endpoints.cycle, endpoints.pdsa
    calls = [
        lambda who: actions.cycle_update(actor=who, cycle=cycle, title="t", aim="a", measure="m",
                                         measure_unit="", higher_is_better=True, baseline=Decimal(1),
                                         change_idea="c"),
        lambda who: actions.cycle_close(actor=who, cycle=cycle),
        lambda who: actions.cycle_reopen(actor=who, cycle=cycle),
        lambda who: actions.measurement_add(actor=who, cycle=cycle, date=today(), value=Decimal(1)),
        lambda who: actions.measurement_delete(actor=who, cycle=cycle, date=days_ago(1)),
        lambda who: actions.pdsa_start(actor=who, cycle=cycle, plan="p", prediction="v"),
        lambda who: actions.pdsa_update(actor=who, pdsa=pdsa, do_notes="d", study=""),
    ]
    before = state(cycle)
    for who in (sven, lars):
        for call in calls:
            with pytest.raises(PermissionDenied):
                call(who)
    assert state(cycle) == before


def test_a_member_without_two_factor_setup_has_no_access(cycle: ImprovementCycle, tree: SimpleNamespace,
                                                         client_for: Any) -> None:
    nofactor = make_staff("nils", [(tree.agency_a, Role.COUNSELOR)], mfa=False)
    with pytest.raises(PermissionDenied):
        actions.cycle_close(actor=nofactor, cycle=cycle)
    response = client_for(nofactor).get(url("cycle", cycle))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
