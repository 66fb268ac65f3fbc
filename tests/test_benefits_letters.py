"""Decision letters: a PDF in the applicant's language with the calculation, its references and
how to appeal; issued after commit; a failed render leaves the decision and is retried; only the
applicant and the office's case workers can download it."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command

from tests.conftest import make_staff, make_user
from wegweiser.accounts.models import User
from wegweiser.benefits import actions, letters
from wegweiser.benefits.models import Decision, LetterStatus
from wegweiser.counseling.files import storage_path
from wegweiser.organizations.models import Role

HOUSEHOLD = {"persons": [{"id": "a", "role": "adult", "age": 40, "income": {"salary_net": 100000}}],
             "costs": {"housing": 600000}}
AUTOMATIC = {"auto_enabled": True, "auto_repeat_only": False, "auto_require_receipts": False}


@pytest.fixture(autouse=True)
def storage(settings: Any, tmp_path: Any) -> None:
    settings.ATTACHMENT_ROOT = tmp_path


@pytest.fixture
def office(tree: SimpleNamespace) -> Any:
    office = actions.office_create(actor=None, node=tree.agency_a, ruleset="se.ekonomiskt_bistand")
    return actions.office_set_policy(actor=None, office=office, **AUTOMATIC)


def decided(applicant: User, office: Any, language: str = "sv", household: dict[str, Any] | None = None,
            ) -> Decision:
    application = actions.application_start(applicant=applicant, office=office, month="2026-01",
                                            language=language)
    actions.application_save(applicant=applicant, application=application,
                             household=copy.deepcopy(household or HOUSEHOLD))
    return actions.application_submit(applicant=applicant, application=application).decision


def test_an_automatic_decision_gets_its_letter_after_commit(
        office: Any, mia: User, lars: User, otto: User, tree: SimpleNamespace, client_for: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        decision = decided(mia, office)
    decision.refresh_from_db()
    assert decision.letter_status == LetterStatus.READY and decision.letter_attempts == 1
    url = f"/benefits/decisions/{decision.public_id}/letter.pdf"
    response = client_for(mia).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and response["Cache-Control"] == "private, no-store"
    bo = make_staff("bo", [(tree.agency_a, Role.CASE_WORKER)])
    assert client_for(bo).get(url).status_code == 200
    for outsider in (lars, otto, make_user("nina", User.Kind.CLIENT)):
        assert client_for(outsider).get(url).status_code == 404
    assert letters.letter_read(decision) == response.content  # stored encrypted, read back whole
    assert b"%PDF" not in storage_path(decision.letter_storage_name).read_bytes()[:64]


def test_the_letter_says_everything_in_the_applicants_language(office: Any, mia: User) -> None:
    decision = decided(mia, office, "sv")
    html = letters.letter_html(decision)
    assert "Beslut" in html and "förvaltningsrätten" in html and "tre veckor" in html
    assert "Personliga kostnader, ensamstående vuxen" in html and "SoL (2025:400)" in html
    amount = f"{decision.amount // 100:,}".replace(",", "\u202f")
    assert amount in html and "kr" in html
    assert "automatiskt" in html  # says it was decided automatically and how to ask for a person


def test_a_german_letter_explains_the_objection(tree: SimpleNamespace, mia: User) -> None:
    office = actions.office_create(actor=None, node=tree.agency_b, ruleset="de.buergergeld")
    actions.office_set_policy(actor=None, office=office, **AUTOMATIC)
    household = {"persons": [{"id": "a", "role": "adult", "age": 40}], "costs": {"rent": 40000}}
    html = letters.letter_html(decided(mia, office, "de", household))
    assert "Widerspruch" in html and "innerhalb eines Monats" in html
    assert "Regelbedarf Stufe 1" in html and "963,00" in html


def test_a_failed_render_keeps_the_decision_and_is_retried(
        office: Any, mia: User, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any, capsys: Any) -> None:
    def broken(decision: Decision) -> bytes:
        raise RuntimeError("fonts missing")

    monkeypatch.setattr(letters, "letter_pdf", broken)
    with django_capture_on_commit_callbacks(execute=True):
        decision = decided(mia, office)
    decision.refresh_from_db()
    assert decision.status == Decision.Status.FINAL and decision.application.status == "decided"
    assert decision.letter_status == LetterStatus.FAILED and decision.letter_attempts == 1
    monkeypatch.undo()
    call_command("benefits", "letters")
    assert '"ready": 1' in capsys.readouterr().out
    decision.refresh_from_db()
    assert decision.letter_status == LetterStatus.READY and decision.letter_attempts == 2


def test_the_applicant_is_emailed_once_without_content(office: Any, mia: User, mailoutbox: Any) -> None:
    from allauth.account.models import EmailAddress

    from wegweiser.benefits.notifications import notify_decisions

    decision = decided(mia, office)
    assert notify_decisions() == 0  # mia has not opted in
    mia.email_notifications = True
    mia.save()
    EmailAddress.objects.create(user=mia, email="mia@example.org", primary=True, verified=True)
    assert notify_decisions(base_url="https://wegweiser.example.org") == 1
    message = mailoutbox[0]
    assert message.to == ["mia@example.org"] and "/benefits/" in message.body
    assert str(decision.amount // 100) not in message.body and "2026" not in message.body
    assert notify_decisions() == 0  # once per decision


def test_deleting_the_account_deletes_applications_and_their_files(
        office: Any, mia: User, django_capture_on_commit_callbacks: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.test_attachments import pdf_bytes
    from wegweiser.benefits.models import Application
    from wegweiser.counseling.retention import account_delete

    application = actions.application_start(applicant=mia, office=office, month="2026-01", language="de")
    receipt = actions.receipt_upload(applicant=mia, application=application,
                                     upload=SimpleUploadedFile("lohn.pdf", pdf_bytes()))
    actions.application_save(applicant=mia, application=application, household=copy.deepcopy(HOUSEHOLD))
    with django_capture_on_commit_callbacks(execute=True):
        decision = actions.application_submit(applicant=mia, application=application).decision
    decision.refresh_from_db()
    files = [storage_path(receipt.storage_name), storage_path(decision.letter_storage_name)]
    assert all(path.exists() for path in files)
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=mia)
    assert not Application.objects.exists() and not Decision.objects.exists()
    assert not any(path.exists() for path in files)


def test_an_idle_anonymous_applicant_is_not_purged(office: Any, mia: User, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from wegweiser.counseling.retention import inactive_anonymous_accounts

    User.objects.filter(pk=mia.pk).update(date_joined=timezone.now() - timedelta(days=4000))
    assert inactive_anonymous_accounts(timezone.now()).filter(pk=mia.pk).exists()
    actions.application_start(applicant=mia, office=office, month="2026-01", language="de")
    assert not inactive_anonymous_accounts(timezone.now()).filter(pk=mia.pk).exists()
