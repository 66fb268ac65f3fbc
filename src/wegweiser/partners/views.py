"""Staff pages of the partner directory (thin: parse, check access, call an action, render): the
directory and partner profiles for every staff member, and an organization's requests to
partners for holders of ``partners.request``. The partners' own inbox is in ``inbox_views``,
keeping the directory in ``manage_views``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import add_action_errors, form_submitted, run_with_message
from wegweiser.partners import access, actions, selectors
from wegweiser.partners.forms import AddressForm, DirectoryFilterForm, PartnerRequestForm
from wegweiser.partners.models import PartnerRequest, RequestRecipient, Specialty

PAGE_SIZE = 50


def nav_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "can_request": access.can_request(request.user),
        "can_manage": access.can_manage(request.user),
        **extra,
    }


def query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@staff_required
@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET or None)
    filters = selectors.DirectoryFilters(**form.values())
    partners = selectors.partner_list_for_directory(filters)
    page = Paginator(partners, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/directory.html",
        nav_context(request, form=form, page=page, query=query_without_page(request), total=len(partners)),
    )


@staff_required
@require_GET
def partner(request: HttpRequest, partner_id: str) -> HttpResponse:
    found = access.access_partner(request.user, partner_id)
    return render(request, "partners/partner.html", nav_context(request, partner=found))


@staff_required
@require_GET
def requests(request: HttpRequest) -> HttpResponse:
    if not access.can_request(request.user):
        raise Http404
    found = (
        access.visible_requests(request.user)
        .select_related("organization")
        .annotate(
            sent=Count("recipients"),
            interested=Count("recipients", filter=Q(recipients__status=RequestRecipient.Status.INTERESTED)),
        )
        .order_by("-created_at", "-id")
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "partners/requests.html", nav_context(request, page=page))


@staff_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    units = access.request_units(request.user)
    if not units:
        raise Http404
    wanted = [code for code in request.GET.getlist("specialty") if code in Specialty.values]
    form = PartnerRequestForm(request.POST or None, units=units, initial={"specialties": wanted})
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.partner_request_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_action_errors(form, exc)
        else:
            messages.success(
                request, _("Your request was saved. Now choose the partners who should receive it.")
            )
            return redirect("partners:request", request_id=created.public_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "partners/request_new.html", nav_context(request, form=form), status=status)


@staff_required
@require_GET
def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    partner_request = access.access_request(request.user, request_id)
    return _request_page(request, partner_request)


def _request_page(
    request: HttpRequest, partner_request: PartnerRequest, form: AddressForm | None = None
) -> HttpResponse:
    recipients = list(partner_request.recipients.select_related("partner"))
    addressed = {recipient.partner_id for recipient in recipients}
    matches = []
    if partner_request.is_open:
        matches = [m for m in selectors.offered_matches(partner_request) if m.partner.pk not in addressed]
    chosen = set(request.POST.getlist("partners")) if form is not None else set()
    context = nav_context(
        request,
        partner_request=partner_request,
        recipients=recipients,
        matches=matches,
        form=form or AddressForm(),
        chosen=chosen,
    )
    return render(request, "partners/request.html", context, status=400 if form is not None else 200)


@staff_required
@require_POST
def request_address(request: HttpRequest, request_id: str) -> HttpResponse:
    partner_request = access.access_request(request.user, request_id)
    form = AddressForm(request.POST)

    def send(data: dict[str, Any]) -> object:
        return actions.partner_request_address(
            actor=request.user, partner_request=partner_request, partner_ids=data["partners"]
        )

    if form_submitted(form, send):
        messages.success(request, _("The request was sent to the chosen partners."))
        return redirect("partners:request", request_id=partner_request.public_id)
    return _request_page(request, partner_request, form)


@staff_required
@require_POST
def request_close(request: HttpRequest, request_id: str) -> HttpResponse:
    partner_request = access.access_request(request.user, request_id)
    run_with_message(
        request,
        lambda: actions.partner_request_close(actor=request.user, partner_request=partner_request),
        _("The request was closed. Partners can no longer answer it."),
    )
    return redirect("partners:request", request_id=partner_request.public_id)
