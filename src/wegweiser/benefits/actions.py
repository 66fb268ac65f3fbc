"""Every write of the benefits workflow: start, save and submit an application, the automatic
decision where the office's policy allows it, and the case worker's re-assessment, decision,
override and second approval. Each action is atomic, writes its audit entry (ids and codes only,
never amounts of a person or free text) and notifies after commit, content-free.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wegweiser import rulesets
from wegweiser.benefits.errors import message
from wegweiser.benefits.letters import letter_issue_on_commit
from wegweiser.benefits.models import Application, Assessment, BenefitOffice, Decision, Receipt
from wegweiser.benefits.policy import Previous, Reason, reasons_for_a_person
from wegweiser.core.audit import audit_record
from wegweiser.realtime import publish_on_commit, user_group_of
from wegweiser.rules.errors import InputError, NoParameters
from wegweiser.rules.periods import Month

DECISION_EVENT = {"type": "benefit_decision"}  # says only that something is ready to read
MAX_REASON = 4000


def _previous_decided(applicant: Any, office: BenefitOffice, month: str) -> Application | None:
    return (Application.objects.filter(applicant=applicant, office=office, month__lt=month,
                                       status=Application.Status.DECIDED)
            .select_related("decision__assessment").order_by("-month").first())


def office_facts(applicant: Any, office: BenefitOffice, month: Month) -> dict[str, Any]:
    """What the office knows rather than the applicant: its housing-cost limit, and how many
    months in a row this household has received support (Sweden: the job stimulus; Germany: the
    first year's actual-rent rule)."""
    decided = dict(Application.objects.filter(applicant=applicant, office=office, month__lt=str(month),
                                              status=Application.Status.DECIDED)
                   .values_list("month", "decision__amount"))
    streak, cursor = 0, month.previous()
    while (decided.get(str(cursor)) or 0) > 0:
        streak += 1
        cursor = cursor.previous()
    facts: dict[str, Any] = {}
    if office.rent_cap:
        facts["rent_cap"] = office.rent_cap
    if office.ruleset == "se.ekonomiskt_bistand":
        facts["months_on_support"] = streak
    else:
        facts["first_year"] = streak < 12
    return facts


def request_for(application: Application) -> dict[str, Any]:
    """The engine's request: the applicant's household with the office's facts over it (an
    applicant cannot set the housing limit or their own months on support)."""
    household = copy.deepcopy(application.household)
    for key in ("rent_cap", "months_on_support", "first_year", "job_stimulus_months_used"):
        household.pop(key, None)
    household.update(office_facts(application.applicant, application.office, Month.parse(application.month)))
    return {"ruleset": application.office.ruleset, "month": application.month, "household": household}


def _assess(application: Application, *, actor: Any = None, reason: str = "") -> Assessment:
    request = request_for(application)
    try:
        result = rulesets.assess(request, application.language, with_snapshot=True)
    except (InputError, NoParameters) as error:
        raise ValidationError(message(error), code=error.code) from error
    snapshot = result.pop("parameter_snapshot")
    return Assessment.objects.create(
        application=application, created_by=actor, reason=reason, ruleset=result["ruleset"],
        ruleset_version=result["ruleset_version"], request=request, snapshot=snapshot, result=result,
        amount=result["amount"])


def _notify_applicant(application: Application) -> None:
    publish_on_commit(user_group_of(application.applicant.public_id), DECISION_EVENT)


@transaction.atomic
def application_start(*, applicant: Any, office: BenefitOffice, month: str, language: str) -> Application:
    """A draft for ``month``, pre-filled with the household of the last decided month."""
    parsed = Month.parse(month)
    try:
        rulesets.get(office.ruleset).values_at(parsed)
    except NoParameters as error:
        raise ValidationError(message(error), code="no_parameters") from error
    previous = _previous_decided(applicant, office, str(parsed))
    household = copy.deepcopy(previous.household) if previous else {"persons": []}
    try:
        with transaction.atomic():
            application = Application.objects.create(
                office=office, applicant=applicant, month=str(parsed), household=household,
                previous=previous, language=language if language in {"de", "sv", "en"} else "de")
    except IntegrityError:
        raise ValidationError(_("You already have an application for this month."),
                              code="duplicate") from None
    audit_record(actor=applicant, action="benefits.application_started", node=office.node, obj=application)
    return application


@transaction.atomic
def application_save(*, applicant: Any, application: Application, household: dict[str, Any]) -> Application:
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.applicant_id != applicant.pk or application.status != Application.Status.DRAFT:
        raise ValidationError(_("This application can no longer be changed."), code="not_draft")
    application.household = household
    application.save(update_fields=["household", "updated_at"])
    return application


def _reasons(application: Application, amount: int) -> list[Reason]:
    previous = None
    if application.previous_id is not None:
        decided = Decision.objects.filter(application_id=application.previous_id).select_related(
            "assessment").first()
        if decided is not None:
            previous = Previous(decided.assessment.request["household"], decided.amount)
    office = application.office
    found = reasons_for_a_person(office.policy, household=request_for(application)["household"],
                                 amount=amount, previous=previous, receipts=application.receipts.count())
    if office.four_eyes_above and amount > office.four_eyes_above:
        found.append(Reason("four_eyes"))
    return found


@transaction.atomic
def application_submit(*, applicant: Any, application: Application) -> Application:
    """Assess on submission; decide automatically only where the office's policy allows it and
    never a rejection or a reduction; otherwise queue it with the reasons for the case worker."""
    # Two clicks on "submit" assess once; only the application's row is locked, not its office.
    application = (Application.objects.select_for_update(of=("self",))
                   .select_related("office__node", "applicant").get(pk=application.pk))
    if application.applicant_id != applicant.pk or application.status != Application.Status.DRAFT:
        raise ValidationError(_("This application has already been submitted."), code="not_draft")
    assessment = _assess(application)
    reasons = _reasons(application, assessment.amount)
    application.submitted_at = timezone.now()
    application.review_reasons = [{"code": r.code, "fields": list(r.fields)} for r in reasons]
    if reasons:
        application.status = Application.Status.QUEUED
        application.save(update_fields=["status", "submitted_at", "review_reasons", "updated_at"])
        audit_record(actor=applicant, action="benefits.application_queued", node=application.office.node,
                     obj=application, data={"assessment": str(assessment.public_id),
                                            "reasons": [r.code for r in reasons]})
        return application
    decision = Decision.objects.create(application=application, assessment=assessment,
                                       amount=assessment.amount, automatic=True, finalized_at=timezone.now())
    application.status = Application.Status.DECIDED
    application.save(update_fields=["status", "submitted_at", "review_reasons", "updated_at"])
    audit_record(actor=None, action="benefits.decided_automatically", node=application.office.node,
                 obj=application, data={"assessment": str(assessment.public_id)})
    letter_issue_on_commit(decision)
    _notify_applicant(application)
    return application


def _check_queued(application: Application) -> None:
    """Lock the application's row (two case workers deciding at once: the second is told) and
    check that it still waits for a decision."""
    status = (Application.objects.select_for_update(of=("self",)).filter(pk=application.pk)
              .values_list("status", flat=True).get())
    application.status = status
    if status != Application.Status.QUEUED or Decision.objects.filter(application_id=application.pk).exists():
        raise ValidationError(_("This application is not waiting for a decision."), code="not_queued")


def _written_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Write down the reason."), code="reason_required")
    if len(reason) > MAX_REASON:
        raise ValidationError(_("The reason is too long."), code="reason_too_long")
    return reason


@transaction.atomic
def application_reassess(*, actor: Any, application: Application, household: dict[str, Any],
                         reason: str) -> Assessment:
    """A case worker corrects the inputs (with a written reason) and the engine computes again."""
    _check_queued(application)
    reason = _written_reason(reason)
    application.household = household
    application.save(update_fields=["household", "updated_at"])
    assessment = _assess(application, actor=actor, reason=reason)
    audit_record(actor=actor, action="benefits.reassessed", node=application.office.node, obj=application,
                 data={"assessment": str(assessment.public_id)})
    return assessment


@transaction.atomic
def application_decide(*, actor: Any, application: Application, amount: int | None = None,
                       reason: str = "") -> Decision:
    """Approve the latest assessment, or decide another amount with a written reason. Above the
    office's threshold a second case worker must approve before the decision is final."""
    _check_queued(application)
    assessment = application.assessments.order_by("-created_at", "-id").first()
    if assessment is None:
        raise ValidationError(_("This application has not been assessed."), code="not_assessed")
    final = assessment.amount if amount is None else amount
    if final < 0:
        raise ValidationError(_("The amount cannot be negative."), code="negative_amount")
    override = _written_reason(reason) if final != assessment.amount else (reason or "").strip()
    office = application.office
    needs_second = bool(office.four_eyes_above) and final > office.four_eyes_above
    decision = Decision.objects.create(
        application=application, assessment=assessment, amount=final, decided_by=actor,
        override_reason=override[:MAX_REASON],
        status=Decision.Status.AWAITING_APPROVAL if needs_second else Decision.Status.FINAL,
        finalized_at=None if needs_second else timezone.now())
    audit_record(actor=actor, action="benefits.decided", node=office.node, obj=application,
                 data={"decision": str(decision.public_id), "assessment": str(assessment.public_id),
                       "deviates": final != assessment.amount, "second_approval": needs_second})
    if not needs_second:
        application.status = Application.Status.DECIDED
        application.save(update_fields=["status", "updated_at"])
        letter_issue_on_commit(decision)
        _notify_applicant(application)
    return decision


@transaction.atomic
def decision_approve(*, actor: Any, decision: Decision) -> Decision:
    """The second approval: by another case worker than the one who decided."""
    decision = (Decision.objects.select_for_update(of=("self",)).select_related("application")
                .get(pk=decision.pk))
    if decision.status != Decision.Status.AWAITING_APPROVAL:
        raise ValidationError(_("This decision is not waiting for a second approval."), code="not_awaiting")
    if decision.decided_by_id == actor.pk:
        raise ValidationError(_("Another case worker must give the second approval."), code="same_person")
    decision.status = Decision.Status.FINAL
    decision.approved_by = actor
    decision.finalized_at = timezone.now()
    decision.save(update_fields=["status", "approved_by", "finalized_at"])
    application = decision.application
    application.status = Application.Status.DECIDED
    application.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="benefits.approved", node=application.office.node, obj=application,
                 data={"decision": str(decision.public_id)})
    letter_issue_on_commit(decision)
    _notify_applicant(application)
    return decision


MAX_RECEIPTS = 30


def receipt_upload(*, applicant: Any, application: Application, upload: Any) -> Receipt:
    """Check and store one receipt of a draft, with the same rules as counseling attachments
    (size, content type by content); nothing is kept when anything fails."""
    from wegweiser.counseling import files
    from wegweiser.counseling.attachments import checked_upload

    data, content_type, filename = checked_upload(upload)
    storage_name = files.new_storage_name()
    written = False
    try:
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=application.pk)
            if application.applicant_id != applicant.pk or application.status != Application.Status.DRAFT:
                raise ValidationError(_("This application can no longer be changed."), code="not_draft")
            if application.receipts.count() >= MAX_RECEIPTS:
                raise ValidationError(_("An application can have at most %(count)s receipts.")
                                      % {"count": MAX_RECEIPTS}, code="too_many")
            receipt = Receipt.objects.create(application=application, filename=filename,
                                             content_type=content_type, size=len(data),
                                             storage_name=storage_name)
            written = True
            files.encrypt_to_storage(storage_name, data)
            audit_record(actor=applicant, action="benefits.receipt_uploaded", node=application.office.node,
                         obj=receipt, data={"size": len(data), "type": content_type})
    except BaseException:
        if written:
            files.delete_from_storage(storage_name)
        raise
    return receipt


def receipt_delete(*, applicant: Any, receipt: Receipt) -> None:
    from wegweiser.counseling import files

    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=receipt.application_id)
        if application.applicant_id != applicant.pk or application.status != Application.Status.DRAFT:
            raise ValidationError(_("This application can no longer be changed."), code="not_draft")
        audit_record(actor=applicant, action="benefits.receipt_deleted", node=application.office.node,
                     obj=receipt)
        storage_name = receipt.storage_name
        receipt.delete()
    files.delete_from_storage(storage_name)


def receipt_read(*, user: Any, receipt: Receipt) -> bytes:
    """The decrypted receipt, with an audit entry; the caller checked access."""
    from wegweiser.counseling import files

    data = files.decrypt_from_storage(receipt.storage_name)
    audit_record(actor=user, action="benefits.receipt_downloaded", node=receipt.application.office.node,
                 obj=receipt)
    return data


@transaction.atomic
def application_withdraw(*, applicant: Any, application: Application) -> Application:
    if application.applicant_id != applicant.pk or application.status not in {
            Application.Status.DRAFT, Application.Status.QUEUED} or hasattr(application, "decision"):
        raise ValidationError(_("This application can no longer be withdrawn."), code="not_withdrawable")
    application.status = Application.Status.WITHDRAWN
    application.save(update_fields=["status", "updated_at"])
    audit_record(actor=applicant, action="benefits.withdrawn", node=application.office.node, obj=application)
    return application


@transaction.atomic
def office_set_policy(*, actor: Any, office: BenefitOffice, **settings: Any) -> BenefitOffice:
    allowed = {"is_active", "rent_cap", "auto_enabled", "auto_repeat_only", "auto_max_change_percent",
               "auto_allow_household_change", "auto_require_receipts", "four_eyes_above"}
    unknown = set(settings) - allowed
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    for name, value in settings.items():
        setattr(office, name, value)
    office.full_clean()
    office.save()
    audit_record(actor=actor, action="benefits.policy_changed", node=office.node, obj=office,
                 data={"changed": sorted(settings)})
    return office


@transaction.atomic
def office_create(*, actor: Any, node: Any, ruleset: str, **settings: Any) -> BenefitOffice:
    office = BenefitOffice(node=node, ruleset=ruleset, **settings)
    office.full_clean()
    office.save()
    audit_record(actor=actor, action="benefits.office_created", node=node, obj=office,
                 data={"ruleset": ruleset})
    return office


def assessment_reproduce(assessment: Assessment, language: str | None = None) -> dict[str, Any]:
    """Compute a stored assessment again from its stored request and parameter values."""
    return rulesets.assess(assessment.request, language or assessment.application.language,
                           snapshot=assessment.snapshot)
