"""Every write of the self-check: start a check, the invitation link, joining, saving an answer
(each answer is saved at once, so nothing is lost and the check can be resumed anywhere),
finishing, and closing the check with its stored result. Atomic, audited (ids and codes only,
never answers), and nothing changes when an action refuses.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.maturity import questionnaire, scoring
from wegweiser.maturity.models import Answer, Check, Respondent, SizeBand
from wegweiser.organizations.models import Node


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _closed() -> ValidationError:
    return ValidationError(_("This self-check is closed; its answers can no longer change."), code="closed")


def check_start(*, actor: Any, organization: Node, size_band: str) -> Check:
    from wegweiser.maturity.access import units_to_run

    if organization.pk not in {unit.pk for unit in units_to_run(actor)}:
        raise ValidationError(_("Choose one of the units you run self-checks for."), code="bad_unit")
    if size_band not in SizeBand.values:
        raise ValidationError(_("Choose the size of the unit."), code="bad_size")
    steplen = organization.steplen
    try:
        with transaction.atomic():
            check = Check.objects.create(
                organization=organization,
                federation_path=organization.path[:steplen],
                region_path=organization.path[: steplen * 2],
                size_band=size_band,
                questionnaire=questionnaire.current().version,
                started_by=actor,
            )
            Respondent.objects.create(check_run=check, user=actor)
            audit_record(
                actor=actor,
                action="maturity.check_started",
                node=organization,
                obj=check,
                data={"questionnaire": check.questionnaire, "size": size_band},
            )
    except IntegrityError:
        raise ValidationError(
            _("This unit has a self-check running already: continue that one."), code="open_check_exists"
        ) from None
    return check


def invite_create(*, actor: Any, check: Check) -> str:
    """A new invitation link for the check (the previous one stops working). The token is shown
    once; only its hash is stored."""
    if not check.is_open:
        raise _closed()
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        Check.objects.filter(pk=check.pk).update(invite_token_hash=token_hash(token))
        audit_record(actor=actor, action="maturity.invite_created", node=check.organization, obj=check)
    return token


def check_join(*, user: Any, check: Check) -> Respondent:
    """Take part in an open check (the caller found it through ``access_invitation``)."""
    with transaction.atomic():
        if Check.objects.filter(pk=check.pk, closed_at__isnull=True).select_for_update().first() is None:
            raise _closed()
        respondent, created = Respondent.objects.get_or_create(check_run=check, user=user)
        if created:
            audit_record(actor=user, action="maturity.respondent_joined", node=check.organization, obj=check)
    respondent.check_run = check
    return respondent


def answer_save(*, respondent: Respondent, key: str, value: Any, position: int | None = None) -> Answer:
    check = respondent.check_run
    q = questionnaire.get(check.questionnaire)
    if key not in q.by_key:
        raise ValidationError(_("This statement is not part of the self-check."), code="bad_statement")
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number not in questionnaire.VALUES:
        raise ValidationError(_("Choose one of the answers."), code="bad_value")
    with transaction.atomic():
        if Check.objects.filter(pk=check.pk, closed_at__isnull=True).select_for_update().first() is None:
            raise _closed()
        answer, _created = Answer.objects.update_or_create(
            respondent=respondent, key=key, defaults={"value": number}
        )
        if position is not None:
            Respondent.objects.filter(pk=respondent.pk).update(
                position=max(0, min(position, len(q.statements)))
            )
    return answer


def respondent_finish(*, respondent: Respondent) -> Respondent:
    with transaction.atomic():
        Respondent.objects.filter(pk=respondent.pk).update(finished_at=timezone.now())
        audit_record(
            actor=respondent.user,
            action="maturity.respondent_finished",
            node=respondent.check_run.organization,
            obj=respondent.check_run,
        )
    respondent.finished_at = timezone.now()
    return respondent


def answers_of(check: Check) -> list[dict[str, int]]:
    by_respondent: dict[int, dict[str, int]] = {r: {} for r in check.respondents.values_list("pk", flat=True)}
    for respondent_id, key, value in Answer.objects.filter(respondent__check_run=check).values_list(
        "respondent_id", "key", "value"
    ):
        by_respondent[respondent_id][key] = value
    return list(by_respondent.values())


def check_result(check: Check) -> scoring.Result:
    return scoring.score(questionnaire.get(check.questionnaire), answers_of(check))


def check_close(*, actor: Any, check: Check) -> Check:
    """Close the check and store its result (for the next comparison and the benchmarks). Needs
    at least one dimension with enough answers."""
    with transaction.atomic():
        check = Check.objects.select_for_update(of=("self",)).select_related("organization").get(pk=check.pk)
        if not check.is_open:
            raise _closed()
        result = check_result(check)
        if not result.scores():
            raise ValidationError(
                _("Not enough answers yet: at least one area needs half of its statements answered."),
                code="not_enough_answers",
            )
        check.scores, check.overall, check.closed_at = result.scores(), result.overall, timezone.now()
        check.invite_token_hash = ""
        check.save(update_fields=["scores", "overall", "closed_at", "invite_token_hash"])
        audit_record(
            actor=actor,
            action="maturity.check_closed",
            node=check.organization,
            obj=check,
            data={"respondents": result.respondents, "dimensions": sorted(result.scores())},
        )
    return check
