"""Pages of the digital-maturity self-check (thin: parse, check access, call an action, render).
One statement per screen (it reads well on a phone), every answer saved at once, a progress bar,
and "continue later" anywhere; every page works without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors, run_with_message
from wegweiser.core.views import download
from wegweiser.maturity import access, actions, questionnaire, selectors
from wegweiser.maturity.models import Check, Respondent, SizeBand

CHOICES = [
    (4, gettext_lazy("Fully applies")),
    (3, gettext_lazy("Rather applies")),
    (2, gettext_lazy("Rather does not apply")),
    (1, gettext_lazy("Does not apply")),
    (0, gettext_lazy("Don't know / not applicable")),
]


class StartForm(forms.Form):
    organization: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=gettext_lazy("Unit"), queryset=None, empty_label=None, to_field_name="public_id"
    )
    size_band = forms.ChoiceField(label=gettext_lazy("How many staff work there?"), choices=SizeBand.choices)

    def __init__(self, *args: Any, units: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from wegweiser.organizations.models import Node

        self.fields["organization"].queryset = Node.objects.filter(pk__in=[u.pk for u in units])  # type: ignore[attr-defined]


class AnswerForm(forms.Form):
    value = forms.TypedChoiceField(label="", choices=CHOICES, coerce=int, widget=forms.RadioSelect)


@staff_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    units = access.units_to_run(request.user)
    form = StartForm(request.POST or None, units=units)
    if request.method == "POST" and units and form.is_valid():
        try:
            check = actions.check_start(
                actor=request.user,
                organization=form.cleaned_data["organization"],
                size_band=form.cleaned_data["size_band"],
            )
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            return redirect("maturity:answer", check_id=check.public_id, number=1)
    mine = Q(respondents__user_id=request.user.pk) | Q(organization__in=[u.pk for u in units])
    checks = Check.objects.filter(mine).select_related("organization").distinct().order_by("-created_at")[:50]
    return render(
        request,
        "maturity/home.html",
        {"form": form, "units": units, "checks": checks, "questionnaire": questionnaire.current()},
    )


@staff_required
@require_http_methods(["GET", "POST"])
def check_page(request: HttpRequest, check_id: Any) -> HttpResponse:
    check = access.access_check(request.user, check_id)
    invite = None
    if request.method == "POST":
        if not access.can_run(request.user, check):
            raise Http404
        try:
            invite = request.build_absolute_uri(
                f"/maturity/join/{actions.invite_create(actor=request.user, check=check)}/"
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    me = Respondent.objects.filter(check_run=check, user_id=request.user.pk or 0).first()
    if me is not None:
        me.check_run = check
    respondents = list(check.respondents.select_related("user").order_by("joined_at"))
    return render(
        request,
        "maturity/check.html",
        {
            "check": check,
            "me": me,
            "progress": selectors.progress(me) if me else None,
            "invite": invite,
            "can_run": access.can_run(request.user, check),
            "respondents": respondents,
            "finished": sum(1 for r in respondents if r.finished_at),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, check_id: Any, number: int) -> HttpResponse:
    check = access.access_check(request.user, check_id)
    respondent = access.access_respondent(request.user, check)
    q = questionnaire.get(check.questionnaire)
    if not 1 <= number <= len(q.statements):
        raise Http404
    statement = q.statements[number - 1]
    saved = respondent.answers.filter(key=statement.key).values_list("value", flat=True).first()
    form = AnswerForm(request.POST or None, initial={"value": saved})
    if request.method == "POST":
        if "later" in request.POST and not request.POST.get("value"):
            messages.success(request, _("Your answers are saved. Continue whenever you like."))
            return redirect("maturity:check", check_id=check.public_id)
        if "back" in request.POST:
            return redirect("maturity:answer", check_id=check.public_id, number=max(1, number - 1))
        if "skip" in request.POST or (form.is_valid() and _saved(form, respondent, statement.key, number)):
            if "later" in request.POST:
                messages.success(request, _("Your answers are saved. Continue whenever you like."))
                return redirect("maturity:check", check_id=check.public_id)
            if number == len(q.statements):
                return redirect("maturity:check", check_id=check.public_id)
            return redirect("maturity:answer", check_id=check.public_id, number=number + 1)
    return render(
        request,
        "maturity/answer.html",
        {
            "check": check,
            "statement": statement,
            "dimension": q.dimension(statement.dimension),
            "form": form,
            "number": number,
            "total": len(q.statements),
            "progress": selectors.progress(respondent),
        },
        status=400 if form.errors else 200,
    )


def _saved(form: AnswerForm, respondent: Respondent, key: str, number: int) -> bool:
    try:
        actions.answer_save(respondent=respondent, key=key, value=form.cleaned_data["value"], position=number)
    except ValidationError as exc:
        add_action_errors(form, exc)
        return False
    return True


@staff_required
@require_POST
def finish(request: HttpRequest, check_id: Any) -> HttpResponse:
    check = access.access_check(request.user, check_id)
    respondent = access.access_respondent(request.user, check)
    run_with_message(
        request,
        lambda: actions.respondent_finish(respondent=respondent),
        _("Thank you! Your answers are in."),
    )
    return redirect("maturity:check", check_id=check.public_id)


@staff_required
@require_POST
def close(request: HttpRequest, check_id: Any) -> HttpResponse:
    check = access.access_check_runner(request.user, check_id)
    if run_with_message(
        request,
        lambda: actions.check_close(actor=request.user, check=check),
        _("The self-check is closed and its result stored."),
    ):
        return redirect("maturity:results", check_id=check.public_id)
    return redirect("maturity:check", check_id=check.public_id)


@staff_required
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: a page that asks first, so a link alone changes nothing."""
    check = access.access_invitation(request.user, token)
    if request.method == "POST":
        try:
            respondent = actions.check_join(user=request.user, check=check)
        except ValidationError:  # closed in the meantime: the link is gone
            raise Http404 from None
        return redirect("maturity:answer", check_id=check.public_id, number=max(1, respondent.position))
    return render(request, "maturity/join.html", {"check": check})


@staff_required
@require_GET
def results(request: HttpRequest, check_id: Any) -> HttpResponse:
    check = access.access_check(request.user, check_id)
    return render(request, "maturity/results.html", {"check": check, **selectors.result_page(check)})


@staff_required
@require_GET
def results_pdf(request: HttpRequest, check_id: Any) -> HttpResponse:
    import weasyprint

    check = access.access_check(request.user, check_id)
    html = render_to_string(
        "maturity/results_pdf.html",
        {"check": check, "today": timezone.localdate(), **selectors.result_page(check)},
    )
    pdf = weasyprint.HTML(string=html, base_url=None).write_pdf()
    return download(pdf, "application/pdf", f"self-check-{check.created_at:%Y-%m-%d}.pdf")
