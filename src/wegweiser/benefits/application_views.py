"""Pages of the benefit applications (thin: parse, check access, call an action, render). Every
page works without JavaScript: adding a person is a submit button that re-renders the form with
one more row, keeping everything typed.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from wegweiser import rulesets
from wegweiser.accounts.decorators import staff_required
from wegweiser.benefits import access, actions, letters, microsim
from wegweiser.benefits.forms import (
    DecideForm,
    PolicyForm,
    ReassessForm,
    ReceiptForm,
    ReformForm,
    StartForm,
    household_forms,
    household_from_forms,
    tampered,
)
from wegweiser.benefits.models import Application, Decision, LetterStatus
from wegweiser.benefits.selectors import reader_language
from wegweiser.core.forms import add_action_errors
from wegweiser.core.views import download
from wegweiser.organizations.access import Perm

REASON_TEXTS = {
    "automation_off": gettext_lazy("This office decides every application in person."),
    "first_application": gettext_lazy("A first application is always decided in person."),
    "rejection": gettext_lazy("The calculation gives no entitlement: a rejection is never automatic."),
    "reduction": gettext_lazy("Less than last month: a reduction is never automatic."),
    "household_changed": gettext_lazy("Someone joined or left the household."),
    "input_changed": gettext_lazy("Amounts changed more than the office allows for automatic decisions."),
    "receipts_missing": gettext_lazy("No receipts were uploaded."),
    "four_eyes": gettext_lazy("Above the amount that needs a second approval."),
}


def _reasons(application: Application) -> list[dict[str, Any]]:
    return [{"text": REASON_TEXTS.get(r["code"], r["code"]), "fields": r.get("fields", [])}
            for r in application.review_reasons]


def _explanation(application: Application) -> dict[str, Any] | None:
    """The latest assessment, explained in the reader's language (from the stored snapshot)."""
    assessment = application.assessments.order_by("-created_at", "-id").first()
    if assessment is None:
        return None
    return {"assessment": assessment,
            "result": actions.assessment_reproduce(assessment, reader_language())}


# -- applicants ----------------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def my_applications(request: HttpRequest) -> HttpResponse:
    offices = access.open_offices()
    form = StartForm(request.POST or None, offices=offices,
                     initial={"month": timezone.localdate().strftime("%Y-%m")})
    if request.method == "POST" and form.is_valid():
        try:
            application = actions.application_start(
                applicant=request.user, office=form.cleaned_data["office"], month=form.cleaned_data["month"],
                language=reader_language())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            return redirect("benefits:application", application_id=application.public_id)
    applications = (Application.objects.filter(applicant_id=request.user.pk).select_related("office__node")
                    .exclude(status=Application.Status.WITHDRAWN).order_by("-month", "-created_at"))
    return render(request, "benefits/my_applications.html",
                  {"form": form, "applications": applications, "offices": offices})


@login_required
@require_http_methods(["GET", "POST"])
def application(request: HttpRequest, application_id: Any) -> HttpResponse:
    """The applicant's page: the household form while a draft, the outcome afterwards."""
    application = access.access_own_application(request.user, application_id)
    ruleset = rulesets.get(application.office.ruleset)
    if application.status != Application.Status.DRAFT:
        return render(request, "benefits/application_status.html", {
            "application": application, "decision": getattr(application, "decision", None),
            "explanation": _explanation(application) if application.status == Application.Status.DECIDED
            else None})
    adding = request.method == "POST" and "add_person" in request.POST
    if request.method == "POST" and "submit_unchanged" in request.POST and application.previous_id:
        # "Nothing changed": the household as pre-filled from last month, without the form.
        try:
            actions.application_submit(applicant=request.user, application=application)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your application has been submitted."))
        return redirect("benefits:application", application_id=application.public_id)
    if request.method == "POST":
        if tampered(request.POST):
            raise Http404
        formset, money = household_forms(ruleset, application.household, request.POST)
        if formset.is_valid() and money.is_valid():
            household = household_from_forms(formset, money)
            try:
                # The draft is saved first, on its own: a refused submission loses nothing.
                actions.application_save(applicant=request.user, application=application, household=household)
                if "submit" in request.POST:
                    actions.application_submit(applicant=request.user, application=application)
            except ValidationError as exc:
                add_action_errors(money, exc)
            else:
                if "submit" in request.POST:
                    messages.success(request, _("Your application has been submitted."))
                    return redirect("benefits:application", application_id=application.public_id)
                if not adding:
                    messages.success(request, _("Draft saved."))
                    return redirect("benefits:application", application_id=application.public_id)
                formset, money = household_forms(ruleset, household, None, add_person=True)
    else:
        formset, money = household_forms(ruleset, application.household)
    return render(request, "benefits/application_form.html", {
        "application": application, "formset": formset, "money": money, "receipt_form": ReceiptForm(),
        "receipts": application.receipts.all()})


@login_required
@require_POST
def receipt_upload(request: HttpRequest, application_id: Any) -> HttpResponse:
    application = access.access_own_application(request.user, application_id)
    form = ReceiptForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.receipt_upload(applicant=request.user, application=application,
                                   upload=form.cleaned_data["file"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Receipt uploaded."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("benefits:application", application_id=application.public_id)


@login_required
@require_POST
def receipt_delete(request: HttpRequest, receipt_id: Any) -> HttpResponse:
    receipt = access.access_receipt(request.user, receipt_id)
    if receipt.application.applicant_id != request.user.pk:
        raise Http404
    try:
        actions.receipt_delete(applicant=request.user, receipt=receipt)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("benefits:application", application_id=receipt.application.public_id)


@login_required
def receipt_download(request: HttpRequest, receipt_id: Any) -> HttpResponse:
    receipt = access.access_receipt(request.user, receipt_id)
    return download(actions.receipt_read(user=request.user, receipt=receipt), receipt.content_type,
                    receipt.filename)


@login_required
@require_POST
def withdraw(request: HttpRequest, application_id: Any) -> HttpResponse:
    application = access.access_own_application(request.user, application_id)
    try:
        actions.application_withdraw(applicant=request.user, application=application)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("benefits:application", application_id=application.public_id)
    messages.success(request, _("The application has been withdrawn."))
    return redirect("benefits:my_applications")


@login_required
def letter(request: HttpRequest, decision_id: Any) -> HttpResponse:
    """The decision letter as PDF, for the applicant and the office's case workers."""
    decision = access.access_decision(request.user, decision_id)
    if decision.letter_status != LetterStatus.READY:
        raise Http404
    return download(letters.letter_read(decision), "application/pdf", letters.letter_filename(decision))


# -- case workers ----------------------------------------------------------------------------------
@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    offices = access.offices_with_perm(request.user, Perm.DECIDE_BENEFITS)
    pending = (Application.objects.filter(office__in=offices, status=Application.Status.QUEUED)
               .select_related("office__node", "decision").order_by("submitted_at", "id")[:200])
    rows = [{"application": a, "reasons": _reasons(a), "decision": getattr(a, "decision", None)}
            for a in pending]
    return render(request, "benefits/queue.html", {"rows": rows, "offices": offices})


@staff_required
@require_http_methods(["GET", "POST"])
def case(request: HttpRequest, application_id: Any) -> HttpResponse:
    application = access.access_application_to_decide(request.user, application_id)
    ruleset = rulesets.get(application.office.ruleset)
    decide_form = DecideForm(prefix="decide")
    reassess_form = ReassessForm(prefix="reassess")
    formset, money = household_forms(ruleset, application.household)
    if request.method == "POST":
        with transaction.atomic():
            application = access.access_application_to_decide(request.user, application_id, for_update=True)
            if "decide" in request.POST:
                decide_form = DecideForm(request.POST, prefix="decide")
                if decide_form.is_valid():
                    typed = request.POST.get("decide-amount", "").strip()
                    try:
                        amount = decide_form.cleaned_data["amount"] if typed else None
                        actions.application_decide(actor=request.user, application=application, amount=amount,
                                                   reason=decide_form.cleaned_data["reason"])
                    except ValidationError as exc:
                        add_action_errors(decide_form, exc)
                    else:
                        messages.success(request, _("Decision saved."))
                        return redirect("benefits:case", application_id=application.public_id)
            elif "reassess" in request.POST:
                if tampered(request.POST):
                    raise Http404
                reassess_form = ReassessForm(request.POST, prefix="reassess")
                formset, money = household_forms(ruleset, application.household, request.POST)
                if reassess_form.is_valid() and formset.is_valid() and money.is_valid():
                    try:
                        actions.application_reassess(actor=request.user, application=application,
                                                     household=household_from_forms(formset, money),
                                                     reason=reassess_form.cleaned_data["reason"])
                    except ValidationError as exc:
                        transaction.set_rollback(True)
                        add_action_errors(reassess_form, exc)
                    else:
                        messages.success(request, _("Calculated again with the changed inputs."))
                        return redirect("benefits:case", application_id=application.public_id)
    return render(request, "benefits/case.html", {
        "application": application, "reasons": _reasons(application),
        "decision": getattr(application, "decision", None), "explanation": _explanation(application),
        "assessments": application.assessments.order_by("created_at", "id"),
        "receipts": application.receipts.all(),
        "decide_form": decide_form, "reassess_form": reassess_form, "formset": formset, "money": money})


@staff_required
@require_POST
def approve(request: HttpRequest, decision_id: Any) -> HttpResponse:
    decision = access.access_decision_to_approve(request.user, decision_id)
    try:
        actions.decision_approve(actor=request.user, decision=decision)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Second approval given. The decision is final."))
    return redirect("benefits:case", application_id=decision.application.public_id)


# -- agency leads ----------------------------------------------------------------------------------
@staff_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest, office_id: Any) -> HttpResponse:
    office = access.access_office(request.user, office_id, Perm.SET_BENEFIT_POLICY)
    form = PolicyForm(request.POST or None, instance=office)
    if request.method == "POST" and form.is_valid():
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        office.refresh_from_db()
        try:
            actions.office_set_policy(actor=request.user, office=office, **changed)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("benefits:policy", office_id=office.public_id)
    return render(request, "benefits/policy.html", {"office": office, "form": form,
                                                    "decisions": Decision.Status})


# -- organization admins -------------------------------------------------------------------------
@staff_required
@require_http_methods(["GET", "POST"])
def microsimulation(request: HttpRequest) -> HttpResponse:
    """What a parameter change would cost over an office's current caseload, and who would gain
    or lose, by household type."""
    offices = access.offices_with_perm(request.user, Perm.SIMULATE_BENEFITS)
    if not offices.exists():
        raise Http404
    groups = sorted({g for o in offices for g in microsim.reform_groups(rulesets.get(o.ruleset))})
    form = ReformForm(request.POST or None, offices=offices, groups=groups)
    result = None
    if request.method == "POST" and form.is_valid():
        office = form.cleaned_data["office"]
        if form.cleaned_data["group"] not in microsim.reform_groups(rulesets.get(office.ruleset)):
            form.add_error("group", _("This office's rules have no such amounts."))
        else:
            result = microsim.simulate_reform(office, form.cleaned_data["group"],
                                              Fraction(form.cleaned_data["percent"]),
                                              form.cleaned_data["round_to"])
            result["currency"] = rulesets.get(office.ruleset).currency
    return render(request, "benefits/microsimulation.html", {"form": form, "result": result})
