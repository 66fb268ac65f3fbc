"""Pages of the improvement cycles (thin: parse, check access, call an action, render).

Every staff member of the federation reads every cycle (a learning organization shares); the
members of a cycle's team change it. A refused form re-renders the cycle's page with what was
typed and the errors beside the fields; everything works without JavaScript.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors, run_with_message
from wegweiser.ideas import access, runchart
from wegweiser.ideas.actions import cycles as actions
from wegweiser.ideas.forms_cycles import (
    CycleCreateForm,
    CycleForm,
    MeasurementDeleteForm,
    MeasurementForm,
    PdsaForm,
    PdsaStartForm,
    TeamFilterForm,
)
from wegweiser.ideas.models import ImprovementCycle, Measurement, Pdsa
from wegweiser.ideas.views import nav_context
from wegweiser.organizations.models import Node

PER_PAGE = 50


def _count(model: type[Measurement] | type[Pdsa]) -> Coalesce:
    rows = (model.objects.filter(cycle=OuterRef("pk")).order_by().values("cycle")
            .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def cycles_for(federation: Node, units: list[Node], team: Node | None = None) -> QuerySet[ImprovementCycle]:
    """The federation's cycles, those the user's own units work on first, open before closed."""
    own = reduce(or_, (Q(team__path__startswith=unit.path) for unit in units), Q(pk__in=[]))
    cycles = (ImprovementCycle.objects.filter(federation=federation).select_related("team", "item")
              .annotate(own=Case(When(own, then=Value(True)), default=Value(False),
                                 output_field=BooleanField()),
                        pdsa_count=_count(Pdsa), measurement_count=_count(Measurement))
              .order_by("-own", F("closed_at").asc(nulls_first=True), "-created_at", "-id"))
    return cycles.filter(team=team) if team is not None else cycles


def _url(cycle: ImprovementCycle, anchor: str = "") -> str:
    url = reverse("ideas:cycle", kwargs={"cycle_id": cycle.public_id})
    return f"{url}#{anchor}" if anchor else url


def _visible_item(cycle: ImprovementCycle) -> Any:
    """The linked idea, unless a moderator has hidden it (then its title is not shown either)."""
    item = cycle.item
    return item if item is not None and not item.is_hidden else None


@staff_required
@require_GET
def cycle_list(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation = access.access_federation(request.user, federation_id)
    units = access.units_with(request.user, federation)
    teams = list(Node.objects.filter(pk__in=ImprovementCycle.objects.filter(federation=federation)
                                     .values("team")).order_by("path"))
    filter_form = TeamFilterForm(request.GET, teams=teams)
    cycles = cycles_for(federation, units, filter_form.chosen_team())
    page = Paginator(cycles, PER_PAGE).get_page(request.GET.get("page"))
    for cycle in page:
        cycle.visible_item = _visible_item(cycle)  # type: ignore[attr-defined]
    return render(request, "ideas/cycles/list.html", nav_context(
        request, federation, page=page, filter_form=filter_form, can_create=bool(units),
        team_param=request.GET.get("team", "") if filter_form.chosen_team() else ""))


@staff_required
@require_http_methods(["GET", "POST"])
def cycle_new(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation = access.access_federation(request.user, federation_id)
    units = access.units_with(request.user, federation)
    if not units:
        raise Http404
    item = None
    if request.GET.get("item"):
        item = access.access_item(request.user, request.GET["item"])
        if item.federation_id != federation.pk:
            raise Http404
    form = CycleCreateForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            cycle = actions.cycle_create(actor=request.user, federation=federation, team=form.chosen_team(),
                                         item=item, **form.action_kwargs())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The improvement cycle has been created. Add the first "
                                        "measurements and plan the first PDSA cycle."))
            return redirect("ideas:cycle", cycle_id=cycle.public_id)
    return render(request, "ideas/cycles/form.html", nav_context(
        request, federation, form=form, item=item if item and not item.is_hidden else None, cycle=None))


@staff_required
@require_http_methods(["GET", "POST"])
def cycle_edit(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    cycle = access.access_cycle_team(request.user, cycle_id)
    form = CycleForm(request.POST or None, initial=CycleForm.initial_of(cycle))
    if request.method == "POST" and form.is_valid():
        try:
            actions.cycle_update(actor=request.user, cycle=cycle, **form.action_kwargs())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("ideas:cycle", cycle_id=cycle.public_id)
    return render(request, "ideas/cycles/form.html", nav_context(
        request, cycle.federation, form=form, item=_visible_item(cycle), cycle=cycle))


def _detail(request: HttpRequest, cycle: ImprovementCycle, *, measurement_form: MeasurementForm | None = None,
            start_form: PdsaStartForm | None = None, pdsa_form: PdsaForm | None = None) -> HttpResponse:
    """The cycle's page; a refused form is passed in bound, with its errors, to be shown again."""
    can_change = access.can_work_on_cycle(request.user, cycle)
    is_open = cycle.closed_at is None
    measurements = list(cycle.measurements.all())
    pdsas = list(cycle.pdsa_cycles.all())
    running = pdsas[-1] if pdsas and not pdsas[-1].decision else None
    if can_change and is_open:
        measurement_form = measurement_form or MeasurementForm()
        if start_form is None and running is None:
            start_form = PdsaStartForm()
        if pdsa_form is None and running is not None:
            pdsa_form = PdsaForm(pdsa=running)
    chart = runchart.build([(m.date, m.value) for m in measurements], cycle.baseline,
                           [(p.number, p.started_on) for p in pdsas])
    return render(request, "ideas/cycles/detail.html", nav_context(
        request, cycle.federation, cycle=cycle, item=_visible_item(cycle), can_change=can_change,
        is_open=is_open, measurements=measurements, pdsas=pdsas, chart=chart,
        chart_svg=runchart.render_svg(chart, measure=cycle.measure, unit=cycle.measure_unit,
                                      higher_is_better=cycle.higher_is_better),
        signals=[runchart.describe(chart, s, cycle.higher_is_better) for s in chart.signals],
        reliable_points=runchart.RELIABLE_POINTS, measurement_form=measurement_form,
        start_form=start_form, pdsa_form=pdsa_form))


@staff_required
@require_GET
def cycle_detail(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    return _detail(request, access.access_cycle(request.user, cycle_id))


@staff_required
@require_POST
def cycle_close(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    cycle = access.access_cycle_team(request.user, cycle_id)
    run_with_message(request, lambda: actions.cycle_close(actor=request.user, cycle=cycle),
                     _("The improvement cycle has been closed."))
    return redirect("ideas:cycle", cycle_id=cycle.public_id)


@staff_required
@require_POST
def cycle_reopen(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    cycle = access.access_cycle_team(request.user, cycle_id)
    run_with_message(request, lambda: actions.cycle_reopen(actor=request.user, cycle=cycle),
                     _("The improvement cycle has been reopened."))
    return redirect("ideas:cycle", cycle_id=cycle.public_id)


@staff_required
@require_POST
def measurement_add(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    cycle = access.access_cycle_team(request.user, cycle_id)
    form = MeasurementForm(request.POST)
    if form.is_valid():
        try:
            actions.measurement_add(actor=request.user, cycle=cycle, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The value has been saved."))
            return HttpResponseRedirect(_url(cycle, "measurements"))
    return _detail(request, cycle, measurement_form=form)


@staff_required
@require_POST
def measurement_delete(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    cycle = access.access_cycle_team(request.user, cycle_id)
    form = MeasurementDeleteForm(request.POST)
    if not form.is_valid():
        raise Http404
    date = form.cleaned_data["date"]
    run_with_message(request, lambda: actions.measurement_delete(actor=request.user, cycle=cycle, date=date),
                     _("The value has been deleted."))
    return HttpResponseRedirect(_url(cycle, "measurements"))


@staff_required
@require_POST
def pdsa_start(request: HttpRequest, cycle_id: Any) -> HttpResponse:
    cycle = access.access_cycle_team(request.user, cycle_id)
    form = PdsaStartForm(request.POST)
    if form.is_valid():
        try:
            pdsa = actions.pdsa_start(actor=request.user, cycle=cycle, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("PDSA cycle %(number)s has been planned.") % {"number": pdsa.number})
            return HttpResponseRedirect(_url(cycle, f"pdsa-{pdsa.number}"))
    return _detail(request, cycle, start_form=form)


@staff_required
@require_POST
def pdsa_update(request: HttpRequest, cycle_id: Any, pdsa_id: Any) -> HttpResponse:
    cycle, pdsa = access.access_pdsa_team(request.user, cycle_id, pdsa_id)
    form = PdsaForm(request.POST, pdsa=pdsa)
    if form.is_valid():
        try:
            pdsa = actions.pdsa_update(actor=request.user, pdsa=pdsa, **form.action_kwargs())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("PDSA cycle %(number)s has been decided.") % {"number": pdsa.number}
                             if pdsa.decision else _("Saved."))
            return HttpResponseRedirect(_url(cycle, f"pdsa-{pdsa.number}"))
    return _detail(request, cycle, pdsa_form=form)
