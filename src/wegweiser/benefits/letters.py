"""Decision letters: a PDF (WeasyPrint) in the applicant's language with the amount, every line of
the calculation with its legal reference, the reason for any deviation, and how to appeal.

A letter is issued after the decision is final and committed, never inside the decision's
transaction: a failed render leaves the decision stored and the letter marked ``failed``;
``python -m wegweiser benefits letters`` (run from cron) tries again. Letters are personal data
and are stored encrypted like counseling attachments.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from wegweiser.benefits.models import Decision, LetterStatus
from wegweiser.counseling.files import decrypt_from_storage, encrypt_to_storage, new_storage_name

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


def letter_html(decision: Decision) -> str:
    from wegweiser.benefits.actions import assessment_reproduce

    application = decision.application
    language = application.language
    explanation = assessment_reproduce(decision.assessment, language)
    with translation.override(language):
        return render_to_string("benefits/letter.html", {
            "decision": decision, "application": application, "office": application.office,
            "result": explanation, "country": application.office.ruleset.split(".")[0],
            "issued": timezone.localdate(), "language": language,
        })


def letter_pdf(decision: Decision) -> bytes:
    import weasyprint

    # No base URL: the letter loads nothing from anywhere (fonts come from the system).
    return weasyprint.HTML(string=letter_html(decision), base_url=None).write_pdf()


def letter_issue(decision_id: int) -> str:
    """Render and store the letter of a final decision; returns the letter status. Never raises:
    whatever goes wrong is logged (without content) and left for the retry."""
    decision = (Decision.objects.select_related("application__office__node", "assessment")
                .filter(pk=decision_id, status=Decision.Status.FINAL).first())
    if decision is None or decision.letter_status == LetterStatus.READY:
        return decision.letter_status if decision else LetterStatus.NONE
    started = time.perf_counter()
    try:
        pdf = letter_pdf(decision)
        storage_name = new_storage_name()
        encrypt_to_storage(storage_name, pdf)
    except Exception:  # a letter must never take the decision down with it
        log.exception("decision letter %s failed", decision.public_id)
        Decision.objects.filter(pk=decision.pk).update(letter_status=LetterStatus.FAILED,
                                                        letter_attempts=decision.letter_attempts + 1)
        return LetterStatus.FAILED
    with transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(
            letter_status=LetterStatus.READY, letter_storage_name=storage_name,
            letter_attempts=decision.letter_attempts + 1, letter_at=timezone.now())
    log.info("decision letter %s issued in %.0f ms", decision.public_id,
             (time.perf_counter() - started) * 1000)
    return LetterStatus.READY


def letter_issue_on_commit(decision: Decision) -> None:
    Decision.objects.filter(pk=decision.pk).update(letter_status=LetterStatus.PENDING)
    transaction.on_commit(lambda: letter_issue(decision.pk))


def letters_retry() -> dict[str, int]:
    """Issue every letter that is due and not ready (pending after a crash, or failed)."""
    due = Decision.objects.filter(status=Decision.Status.FINAL,
                                  letter_status__in=[LetterStatus.PENDING, LetterStatus.FAILED],
                                  letter_attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True)
    counts = {"ready": 0, "failed": 0}
    for pk in list(due):
        status = letter_issue(pk)
        counts["ready" if status == LetterStatus.READY else "failed"] += 1
    return counts


def letter_read(decision: Decision) -> bytes:
    return decrypt_from_storage(decision.letter_storage_name)


def letter_filename(decision: Decision) -> str:
    return f"decision-{decision.application.month}-{str(decision.public_id)[:8]}.pdf"

