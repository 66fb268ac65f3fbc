"""Benefit applications from draft to decision: automatic only where the office's policy allows it
and never for a rejection or reduction; the case worker's queue, override with reason and second
approval; audit entries; content-free notification after commit; reproduction to the cent."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.http import Http404

from tests.conftest import make_staff, make_user
from wegweiser.accounts.models import User
from wegweiser.benefits import access, actions
from wegweiser.benefits.models import Application, Decision
from wegweiser.core.models import AuditEntry
from wegweiser.organizations.models import Role
from wegweiser.rulesets import get

HOUSEHOLD = {"persons": [{"id": "a", "role": "adult", "age": 34, "income": {"salary_net": 400000}},
                         {"id": "c", "role": "child", "age": 8}],
             "costs": {"housing": 650000, "household_electricity": 30000},
             "benefits": {"child_allowance": 125000}}
PERMISSIVE = {"auto_enabled": True, "auto_repeat_only": False, "auto_require_receipts": False,
              "auto_max_change_percent": 5}


@pytest.fixture
def office(tree: SimpleNamespace) -> Any:
    return actions.office_create(actor=None, node=tree.agency_a, ruleset="se.ekonomiskt_bistand",
                                 rent_cap=700000)


@pytest.fixture
def bo(tree: SimpleNamespace) -> User:
    return make_staff("bo", [(tree.agency_a, Role.CASE_WORKER)])


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("wegweiser.realtime.publish", lambda group, event: sent.append((group, event)))
    return sent


def submit(mia: User, office: Any, month: str = "2026-01", household: dict[str, Any] | None = None,
           ) -> Application:
    application = actions.application_start(applicant=mia, office=office, month=month, language="sv")
    actions.application_save(applicant=mia, application=application,
                             household=copy.deepcopy(household or HOUSEHOLD))
    return actions.application_submit(applicant=mia, application=application)


def test_without_a_policy_everything_goes_to_a_case_worker(office: Any, mia: User, ayse: User) -> None:
    application = submit(mia, office)
    assert application.status == Application.Status.QUEUED
    assert [r["code"] for r in application.review_reasons] == ["automation_off", "first_application",
                                                                "receipts_missing"]
    assessment = application.assessments.get()
    assert assessment.request["household"]["rent_cap"] == 700000  # the office's, not the applicant's
    assert assessment.request["household"]["months_on_support"] == 0
    assert assessment.amount == assessment.result["amount"] > 0
    assert "riksnorm.personal.single_adult" in assessment.snapshot
    assert AuditEntry.objects.filter(action="benefits.application_queued").count() == 1
    assert access.access_application_to_decide(ayse, application.public_id) == application


def test_the_policy_decides_an_unchanged_repeat_automatically_and_tells_the_applicant(
        office: Any, mia: User, django_capture_on_commit_callbacks: Any,
        published: list[tuple[str, dict[str, Any]]]) -> None:
    actions.office_set_policy(actor=None, office=office, **PERMISSIVE)
    with django_capture_on_commit_callbacks(execute=True):
        first = submit(mia, office, "2026-01")
    assert first.status == Application.Status.DECIDED
    assert first.decision.automatic and first.decision.amount == first.assessments.get().amount
    assert published == [(f"user.{mia.public_id.hex}", {"type": "benefit_decision"})]
    second = actions.application_start(applicant=mia, office=office, month="2026-02", language="sv")
    assert second.household == first.household and second.previous == first  # pre-filled
    second = actions.application_submit(applicant=mia, application=second)
    assert second.status == Application.Status.DECIDED
    assert second.assessments.get().request["household"]["months_on_support"] == 1


def test_a_reduction_or_rejection_is_never_automatic(office: Any, mia: User) -> None:
    actions.office_set_policy(actor=None, office=office, **PERMISSIVE)
    submit(mia, office, "2026-01")
    richer = copy.deepcopy(HOUSEHOLD)
    richer["persons"][0]["income"]["salary_net"] = 410000  # +2.5 %: within the policy, but less money
    reduced = submit(mia, office, "2026-02", richer)
    assert reduced.status == Application.Status.QUEUED
    assert [r["code"] for r in reduced.review_reasons] == ["reduction"]
    rich = copy.deepcopy(HOUSEHOLD)
    rich["persons"][0]["income"]["salary_net"] = 5000000
    rejected = submit(make_user("nina", User.Kind.CLIENT), office, "2026-01", rich)
    assert "rejection" in [r["code"] for r in rejected.review_reasons]


def test_override_needs_a_reason_and_a_large_amount_a_second_person(
        office: Any, mia: User, ayse: User, bo: User) -> None:
    actions.office_set_policy(actor=None, office=office, four_eyes_above=1000000)
    application = submit(mia, office)
    calculated = application.assessments.get().amount
    with pytest.raises(ValidationError) as refused:
        actions.application_decide(actor=ayse, application=application, amount=calculated + 50000)
    assert refused.value.code == "reason_required"
    assert not Decision.objects.exists()
    decision = actions.application_decide(actor=ayse, application=application, amount=calculated + 50000,
                                          reason="Extra costs for glasses, receipt seen.")
    assert decision.status == Decision.Status.AWAITING_APPROVAL and decision.deviates
    application.refresh_from_db()
    assert application.status == Application.Status.QUEUED
    with pytest.raises(ValidationError) as refused:
        actions.decision_approve(actor=ayse, decision=decision)
    assert refused.value.code == "same_person"
    actions.decision_approve(actor=bo, decision=decision)
    decision.refresh_from_db()
    application.refresh_from_db()
    assert decision.status == Decision.Status.FINAL and decision.approved_by == bo
    assert application.status == Application.Status.DECIDED
    entry = AuditEntry.objects.get(action="benefits.decided")
    assert entry.data["deviates"] is True and "Extra" not in json.dumps(entry.data)  # no free text


def test_reassessing_with_changed_inputs_keeps_both_assessments(office: Any, mia: User, bo: User) -> None:
    application = submit(mia, office)
    corrected = copy.deepcopy(HOUSEHOLD)
    corrected["costs"]["housing"] = 600000
    with pytest.raises(ValidationError):
        actions.application_reassess(actor=bo, application=application, household=corrected, reason=" ")
    again = actions.application_reassess(actor=bo, application=application, household=corrected,
                                         reason="Rent contract shows 6 000 kr.")
    assert application.assessments.count() == 2 and again.created_by == bo
    assert again.amount == application.assessments.first().amount - 50000
    decision = actions.application_decide(actor=bo, application=application)
    assert decision.assessment == again and decision.amount == again.amount


def test_bad_household_is_refused_on_submit_and_nothing_is_stored(office: Any, mia: User) -> None:
    application = actions.application_start(applicant=mia, office=office, month="2026-01", language="de")
    broken = copy.deepcopy(HOUSEHOLD)
    broken["persons"][0]["income"]["salary_net"] = -1
    actions.application_save(applicant=mia, application=application, household=broken)
    with pytest.raises(ValidationError) as refused:
        actions.application_submit(applicant=mia, application=application)
    assert refused.value.code == "negative_amount" and "salary_net" in refused.value.message
    application.refresh_from_db()
    assert application.status == Application.Status.DRAFT and not application.assessments.exists()
    for month, code in (("2026-01", "duplicate"), ("2031-01", "no_parameters")):
        with pytest.raises(ValidationError) as refused:
            actions.application_start(applicant=mia, office=office, month=month, language="de")
        assert refused.value.code == code


def test_outsiders_see_nothing(office: Any, mia: User, lars: User, otto: User, jonas: User) -> None:
    application = submit(mia, office)
    other_client = make_user("nina", User.Kind.CLIENT)
    for user in (lars, otto, other_client, jonas):  # jonas counsels on the same agency: no benefits role
        with pytest.raises(Http404):
            access.access_application(user, application.public_id)
    with pytest.raises(Http404):
        access.access_application_to_decide(mia, application.public_id)
    assert access.access_own_application(mia, application.public_id) == application


def test_reproduce_gives_the_stored_result_after_the_parameters_change(
        office: Any, mia: User, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    application = submit(mia, office)
    assessment = application.assessments.get()
    ruleset = get("se.ekonomiskt_bistand")
    corrected = ruleset.parameters.with_overrides({"riksnorm.personal.single_adult": {"2026-01-01": 5000}})
    monkeypatch.setitem(ruleset.__dict__, "parameters", corrected)  # a later value in the files
    assert actions.request_for(application) and actions.rulesets.assess(
        assessment.request, "sv")["amount"] != assessment.amount
    call_command("benefits", "reproduce", str(application.public_id))
    printed = json.loads(capsys.readouterr().out)
    assert printed["identical"] is True and printed["amount"] == assessment.amount
    assert printed["assessment"] == str(assessment.public_id)


def test_an_agency_becomes_an_office_by_command(tree: SimpleNamespace, capsys: Any) -> None:
    call_command("benefits", "office", "--node", str(tree.agency_b.public_id), "--ruleset", "de.buergergeld")
    assert "takes de.buergergeld applications" in capsys.readouterr().out
    assert tree.agency_b.benefit_office.ruleset == "de.buergergeld"
    assert not tree.agency_b.benefit_office.auto_enabled
    assert AuditEntry.objects.filter(action="benefits.office_created").count() == 1
