"""Workshop pages (thin: parse, check access, call an action, render). Every staff member of the
federation sees the workshops and registers for one of their own units; organizers (``ideas.triage``
on the organizing unit) plan, change, cancel and report. Names of participants are shown to
organizers only; everyone else sees how many take part from each unit. Every page works without
JavaScript: registering and cancelling are plain form posts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors, run_with_message
from wegweiser.ideas import access, actions
from wegweiser.ideas.forms_workshops import OutcomeForm, RegisterForm, WorkshopForm, item_candidates
from wegweiser.ideas.models import Item, Registration, Workshop, WorkshopIdea
from wegweiser.ideas.views import nav_context
from wegweiser.organizations.access import Perm
from wegweiser.organizations.models import Node

LIST_LIMIT = 100


def _to_detail(workshop: Workshop) -> HttpResponse:
    return redirect("ideas:workshop", workshop_id=workshop.public_id)


def _linked_items(workshop: Workshop) -> list[Item]:
    return [link.item for link in WorkshopIdea.objects.filter(workshop=workshop)
            .select_related("item__stage").order_by("item__title", "item_id")]


@staff_required
def workshop_list(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation = access.access_federation(request.user, federation_id)
    user: Any = request.user
    now = timezone.now()
    workshops = (Workshop.objects.filter(federation=federation).select_related("organizer")
                 .annotate(registered=Count("registrations"),
                           mine=Exists(Registration.objects.filter(workshop=OuterRef("pk"),
                                                                   user_id=user.pk))))
    upcoming = workshops.filter(ends_at__gt=now).order_by("starts_at", "id")[:LIST_LIMIT]
    past = workshops.filter(ends_at__lte=now).order_by("-starts_at", "-id")[:LIST_LIMIT]

    def rows(queryset: Any) -> list[dict[str, Any]]:
        return [{"workshop": w, "free": max(0, w.capacity - w.registered), "mine": w.mine,
                 "started": w.starts_at <= now} for w in queryset]

    return render(request, "ideas/workshops/list.html", nav_context(
        request, federation, upcoming=rows(upcoming), past=rows(past), limit=LIST_LIMIT,
        can_plan=bool(access.units_with(request.user, federation, Perm.TRIAGE_IDEAS))))


def _item_from_query(request: HttpRequest, federation: Node) -> Item | None:
    """``?item=<id>``: the item page's "plan a workshop for this" link pre-selects that item."""
    value = request.GET.get("item")
    if not value:
        return None
    item = access.access_item(request.user, value)
    if item.federation_id != federation.pk or item.is_hidden:
        raise Http404
    return item


def _form_page(request: HttpRequest, form: WorkshopForm, federation: Node,
               workshop: Workshop | None) -> HttpResponse:
    return render(request, "ideas/workshops/form.html",
                  nav_context(request, federation, form=form, workshop=workshop))


@staff_required
@require_http_methods(["GET", "POST"])
def workshop_new(request: HttpRequest, federation_id: Any) -> HttpResponse:
    federation = access.access_federation(request.user, federation_id)
    organizers = access.units_with(request.user, federation, Perm.TRIAGE_IDEAS)
    if not organizers:
        raise Http404
    candidates = item_candidates(federation)
    preselected = _item_from_query(request, federation)
    initial: dict[str, Any] = {"capacity": 20}
    if preselected is not None:
        if preselected.pk not in {item.pk for item in candidates}:
            candidates.insert(0, preselected)
        initial.update(items=[str(preselected.public_id)], title=preselected.title)
    form = WorkshopForm(request.POST if request.method == "POST" else None, initial=initial,
                        federation=federation, organizers=organizers, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            workshop = actions.workshop_save(actor=request.user, federation=federation,
                                             **form.action_kwargs())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The workshop has been planned."))
            return _to_detail(workshop)
    return _form_page(request, form, federation, None)


@staff_required
@require_http_methods(["GET", "POST"])
def workshop_edit(request: HttpRequest, workshop_id: Any) -> HttpResponse:
    workshop = access.access_workshop_organizer(request.user, workshop_id)
    if workshop.cancelled_at is not None:
        messages.error(request, _("This workshop was cancelled."))
        return _to_detail(workshop)
    federation = workshop.federation
    organizers = access.units_with(request.user, federation, Perm.TRIAGE_IDEAS)
    if workshop.organizer.pk not in {node.pk for node in organizers}:
        organizers.insert(0, workshop.organizer)
    linked = _linked_items(workshop)
    candidates = linked + [item for item in item_candidates(federation)
                           if item.pk not in {i.pk for i in linked}]
    form = WorkshopForm(request.POST if request.method == "POST" else None,
                        initial=WorkshopForm.initial_for(workshop, linked),
                        federation=federation, organizers=organizers, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            actions.workshop_save(actor=request.user, federation=federation, workshop=workshop,
                                  **form.action_kwargs())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The workshop has been changed."))
            return _to_detail(workshop)
    return _form_page(request, form, federation, workshop)


def _participants(workshop: Workshop, *, names: bool) -> tuple[list[dict[str, Any]], list[Registration]]:
    """Registrations grouped by unit, in the tree's order; names only for organizers."""
    queryset = workshop.registrations.select_related("branch", *(["user"] if names else []))
    registrations = list(queryset.order_by("branch__path", "created_at", "id"))
    groups: list[dict[str, Any]] = []
    for registration in registrations:
        if not groups or groups[-1]["branch"].pk != registration.branch_id:
            groups.append({"branch": registration.branch, "count": 0, "people": []})
        groups[-1]["count"] += 1
        if names:
            user = registration.user
            groups[-1]["people"].append(user.get_full_name() or user.get_username())
    return groups, registrations


@staff_required
def workshop_detail(request: HttpRequest, workshop_id: Any) -> HttpResponse:
    workshop = access.access_workshop(request.user, workshop_id)
    organizer = access.can_organize(request.user, workshop)
    groups, registrations = _participants(workshop, names=organizer)
    mine = next((r for r in registrations if r.user_id == request.user.pk), None)
    links = [link for link in WorkshopIdea.objects.filter(workshop=workshop)
             .select_related("item__stage").order_by("item__title", "item_id") if not link.item.is_hidden]
    now = timezone.now()
    branches = access.units_with(request.user, workshop.federation)
    return render(request, "ideas/workshops/detail.html", nav_context(
        request, workshop.federation, workshop=workshop, organizer=organizer, groups=groups,
        registered=len(registrations), free=max(0, workshop.capacity - len(registrations)), mine=mine,
        links=links, started=workshop.starts_at <= now, show_link=organizer or mine is not None,
        register_form=RegisterForm(branches=branches) if branches else None))


@staff_required
@require_POST
def workshop_register(request: HttpRequest, workshop_id: Any) -> HttpResponse:
    workshop = access.access_workshop(request.user, workshop_id)
    form = RegisterForm(request.POST, branches=access.units_with(request.user, workshop.federation))
    if not form.is_valid():
        messages.error(request, _("Choose one of your own units."))
        return _to_detail(workshop)
    branch = form.chosen_branch()
    run_with_message(request,
                     lambda: actions.workshop_register(user=request.user, workshop=workshop, branch=branch),
                     _("You are registered."))
    return _to_detail(workshop)


@staff_required
@require_POST
def workshop_unregister(request: HttpRequest, workshop_id: Any) -> HttpResponse:
    workshop = access.access_workshop(request.user, workshop_id)
    run_with_message(request, lambda: actions.workshop_unregister(user=request.user, workshop=workshop),
                     _("Your registration has been withdrawn."))
    return _to_detail(workshop)


@staff_required
@require_http_methods(["GET", "POST"])
def workshop_cancel(request: HttpRequest, workshop_id: Any) -> HttpResponse:
    """GET asks for confirmation (no JavaScript dialog), POST cancels."""
    workshop = access.access_workshop_organizer(request.user, workshop_id)
    if request.method == "POST":
        run_with_message(request, lambda: actions.workshop_cancel(actor=request.user, workshop=workshop),
                         _("The workshop has been cancelled."))
        return _to_detail(workshop)
    return render(request, "ideas/workshops/cancel.html", nav_context(
        request, workshop.federation, workshop=workshop, registered=workshop.registrations.count()))


@staff_required
@require_http_methods(["GET", "POST"])
def workshop_outcome(request: HttpRequest, workshop_id: Any) -> HttpResponse:
    workshop = access.access_workshop_organizer(request.user, workshop_id)
    linked = _linked_items(workshop)
    moved_on = [str(key) for key in WorkshopIdea.objects.filter(workshop=workshop, moved_on=True)
                .values_list("item__public_id", flat=True)]
    form = OutcomeForm(request.POST if request.method == "POST" else None, linked=linked,
                       initial={"outcome": workshop.outcome, "attendee_count": workshop.attendee_count,
                                "moved_on": moved_on})
    if request.method == "POST" and form.is_valid():
        try:
            actions.workshop_outcome(actor=request.user, workshop=workshop,
                                     outcome=form.cleaned_data["outcome"],
                                     attendee_count=form.cleaned_data["attendee_count"],
                                     moved_on_items=form.moved_on_items())
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(request, _("The outcome report has been saved."))
            return _to_detail(workshop)
    return render(request, "ideas/workshops/outcome.html", nav_context(
        request, workshop.federation, workshop=workshop, form=form,
        started=workshop.starts_at <= timezone.now()))
