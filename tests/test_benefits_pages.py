"""The application pages: apply without JavaScript (add a person, save a draft, submit), bad
input re-rendered with translated errors and nothing lost, the case worker's queue and decision,
the lead's settings; and every page gives 404 to those who may not see it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import make_staff, make_user
from wegweiser.accounts.models import User
from wegweiser.benefits import actions
from wegweiser.benefits.models import Application, BenefitOffice, Decision
from wegweiser.organizations.models import Role


@pytest.fixture
def office(tree: SimpleNamespace) -> BenefitOffice:
    return actions.office_create(actor=None, node=tree.agency_a, ruleset="se.ekonomiskt_bistand")


@pytest.fixture
def bo(tree: SimpleNamespace) -> User:
    return make_staff("bo", [(tree.agency_a, Role.CASE_WORKER)])


def person(index: int, role: str, age: int, salary: str = "", pid: str = "") -> dict[str, str]:
    prefix = f"person-{index}-"
    return {f"{prefix}pid": pid, f"{prefix}role": role, f"{prefix}age": str(age),
            f"{prefix}income_salary_net": salary}


def form_data(*persons: dict[str, str], **money: str) -> dict[str, str]:
    data = {"person-TOTAL_FORMS": str(len(persons)), "person-INITIAL_FORMS": "0",
            "person-MIN_NUM_FORMS": "0", "person-MAX_NUM_FORMS": "50"}
    for item in persons:
        data.update(item)
    data.update({f"money-{k}": v for k, v in money.items()})
    return data


def start(client: Any, office: BenefitOffice, month: str = "2026-01") -> Application:
    response = client.post("/benefits/", {"office": str(office.public_id), "month": month})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Application.objects.latest("created_at")


def test_mia_applies_without_javascript(office: BenefitOffice, mia: User, client_for: Any) -> None:
    client = client_for(mia)
    application = start(client, office)
    url = f"/benefits/applications/{application.public_id}/"
    page = client.get(url, headers={"accept-language": "sv"})
    assert page.status_code == 200 and "Lön efter skatt" in page.content.decode()
    added = client.post(url, {**form_data(person(0, "adult", 34, "4 000,50")), "add_person": "1"})
    assert added.status_code == 200 and 'name="person-1-age"' in added.content.decode()
    application.refresh_from_db()
    assert application.household["persons"][0]["income"] == {"salary_net": 400050}
    saved = client.post(url, {**form_data(person(0, "adult", 34, "4000.50", "p1"), person(1, "child", 8)),
                              "save": "1"}, **{"money-housing": "6500"})
    assert saved.status_code == 302
    submitted = client.post(url, {**form_data(person(0, "adult", 34, "4000.50", "p1"), person(1, "child", 8),
                                               housing="6500"), "submit": "1"})
    assert submitted.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.QUEUED
    assert [p["id"] for p in application.household["persons"]] == ["p1", "p2"]
    assert application.household["costs"] == {"housing": 650000}
    status = client.get(url)
    assert "Sachbearbeit" in status.content.decode()  # "waiting for a case worker", in German


def test_bad_input_keeps_what_was_typed_and_changes_nothing(office: BenefitOffice, mia: User,
                                                            client_for: Any) -> None:
    client = client_for(mia)
    application = start(client, office)
    url = f"/benefits/applications/{application.public_id}/"
    response = client.post(url, {**form_data(person(0, "adult", 34, "12,345,678.9x")), "submit": "1"},
                           headers={"accept-language": "en"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter an amount such as 1250" in page and "12,345,678.9x" in page
    only_child = client.post(url, {**form_data(person(0, "child", 3)), "submit": "1"})
    assert "mindestens eine erwachsene Person" in only_child.content.decode()
    tampered = client.post(url, {**form_data(person(0, "adult", 34, "", "../x")), "submit": "1"})
    assert tampered.status_code == 404  # a hidden field edited outside the page
    twice = client.post(url, {**form_data(person(0, "adult", 34, "", "p1"), person(1, "adult", 30, "", "p1")),
                              "submit": "1"})
    assert twice.status_code == 404
    application.refresh_from_db()
    assert application.status == Application.Status.DRAFT and application.household == {"persons": []}
    assert not application.assessments.exists()


def test_case_worker_decides_with_a_reason(office: BenefitOffice, mia: User, ayse: User, bo: User,
                                           client_for: Any) -> None:
    application = actions.application_start(applicant=mia, office=office, month="2026-01", language="de")
    actions.application_save(applicant=mia, application=application,
                             household={"persons": [{"id": "a", "role": "adult", "age": 40}]})
    actions.application_submit(applicant=mia, application=application)
    client = client_for(bo)
    queue = client.get("/benefits/queue/", headers={"accept-language": "en"}).content.decode()
    assert f"/benefits/queue/{application.public_id}/" in queue
    assert "A first application is always decided in person." in queue
    case_url = f"/benefits/queue/{application.public_id}/"
    case = client.get(case_url, headers={"accept-language": "en"}).content.decode()
    assert "Personal costs, adult living alone" in case and "SoL (2025:400)" in case
    refused = client.post(case_url, {"decide": "1", "decide-amount": "9999", "decide-reason": ""},
                          headers={"accept-language": "en"})
    assert refused.status_code == 200 and "Write down the reason." in refused.content.decode()
    assert not Decision.objects.exists()
    done = client.post(case_url, {"decide": "1", "decide-amount": "5300", "decide-reason": "Glasses."})
    assert done.status_code == 302
    decision = Decision.objects.get()
    assert decision.amount == 530000 and decision.decided_by == bo and decision.override_reason == "Glasses."
    mine = client_for(mia).get(f"/benefits/applications/{application.public_id}/").content.decode()
    assert "5.300,00" in mine and "Glasses." in mine


def test_every_page_is_404_for_those_who_may_not_see_it(office: BenefitOffice, mia: User, lars: User,
                                                        otto: User, jonas: User, bo: User, ayse: User,
                                                        client_for: Any) -> None:
    application = actions.application_start(applicant=mia, office=office, month="2026-01", language="de")
    actions.application_save(applicant=mia, application=application,
                             household={"persons": [{"id": "a", "role": "adult", "age": 40}]})
    actions.application_submit(applicant=mia, application=application)
    actions.office_set_policy(actor=None, office=office, four_eyes_above=1)
    decision = actions.application_decide(actor=ayse, application=application)
    nina = make_user("nina", User.Kind.CLIENT)
    own = f"/benefits/applications/{application.public_id}/"
    case = f"/benefits/queue/{application.public_id}/"
    approve = f"/benefits/decisions/{decision.public_id}/approve/"
    policy = f"/benefits/offices/{office.public_id}/policy/"
    for user in (lars, otto, nina, jonas):
        client = client_for(user)
        assert str(application.public_id) not in client.get("/benefits/").content.decode()
        queue = client.get("/benefits/queue/")  # staff with roles see an empty queue, others a 404
        assert queue.status_code == (200 if user in (lars, jonas) else 404)
        assert str(application.public_id) not in queue.content.decode()
        assert client.get(own).status_code == 404
        assert client.post(f"{own}withdraw/").status_code == 404
        assert client.get(case).status_code == 404
        assert client.post(approve).status_code == 404
        assert client.get(policy).status_code == 404
    assert client_for(mia).get(case).status_code == 404  # the applicant is not her own case worker
    assert client_for(bo).get(own).status_code == 404  # the case page is the case worker's view
    assert client_for(bo).get(policy).status_code == 404  # settings are the lead's
    assert client_for(ayse).get(policy).status_code == 200
    decision.refresh_from_db()
    assert decision.status == Decision.Status.AWAITING_APPROVAL  # nothing above changed it
    assert client_for(bo).post(approve).status_code == 302
    decision.refresh_from_db()
    assert decision.status == Decision.Status.FINAL and decision.approved_by == bo


def test_the_lead_sets_the_policy(office: BenefitOffice, ayse: User, client_for: Any) -> None:
    client = client_for(ayse)
    url = f"/benefits/offices/{office.public_id}/policy/"
    response = client.post(url, {"is_active": "on", "rent_cap": "7000", "auto_enabled": "on",
                                 "auto_repeat_only": "on", "auto_max_change_percent": "5",
                                 "auto_require_receipts": "on", "four_eyes_above": "20000"})
    assert response.status_code == 302
    office.refresh_from_db()
    assert office.auto_enabled and office.rent_cap == 700000 and office.four_eyes_above == 2000000
    bad = client.post(url, {"auto_max_change_percent": "90", "rent_cap": "-1"})
    assert bad.status_code == 200
    office.refresh_from_db()
    assert office.auto_max_change_percent == 5


def test_receipts_are_uploaded_checked_and_private(office: BenefitOffice, mia: User, bo: User, lars: User,
                                                   otto: User, client_for: Any, settings: Any,
                                                   tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.test_attachments import pdf_bytes

    settings.ATTACHMENT_ROOT = tmp_path
    client = client_for(mia)
    application = start(client, office)
    url = f"/benefits/applications/{application.public_id}/receipts/"
    fake = client.post(url, {"file": SimpleUploadedFile("lohn.pdf", b"MZ this is no pdf")},
                       headers={"accept-language": "en"})
    assert fake.status_code == 302 and not application.receipts.exists()
    assert "This file type is not allowed" in client.get(fake["Location"]).content.decode()
    client.post(url, {"file": SimpleUploadedFile("Lohn März.pdf", pdf_bytes())})
    receipt = application.receipts.get()
    assert receipt.content_type == "application/pdf"
    download = f"/benefits/receipts/{receipt.public_id}/"
    assert client.get(download).content == pdf_bytes()
    assert client_for(bo).get(download).status_code == 200
    nina = make_user("nina", User.Kind.CLIENT)
    for outsider in (lars, otto, nina):
        other = client_for(outsider)
        assert other.get(download).status_code == 404
        assert other.post(f"{download}delete/").status_code == 404
        assert other.post(url, {"file": SimpleUploadedFile("x.pdf", pdf_bytes())}).status_code == 404
    assert application.receipts.count() == 1
    assert client.post(f"{download}delete/").status_code == 302
    assert not application.receipts.exists()


def test_nothing_changed_submits_last_months_household(office: BenefitOffice, mia: User, ayse: User,
                                                        client_for: Any) -> None:
    household = {"persons": [{"id": "p1", "role": "adult", "age": 40}], "costs": {"housing": 500000}}
    first = actions.application_start(applicant=mia, office=office, month="2026-01", language="de")
    actions.application_save(applicant=mia, application=first, household=household)
    actions.application_decide(actor=ayse, application=actions.application_submit(applicant=mia,
                                                                                  application=first))
    client = client_for(mia)
    second = start(client, office, "2026-02")
    page = client.get(f"/benefits/applications/{second.public_id}/").content.decode()
    assert 'name="submit_unchanged"' in page
    response = client.post(f"/benefits/applications/{second.public_id}/", {"submit_unchanged": "1"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status != Application.Status.DRAFT and second.household == household
