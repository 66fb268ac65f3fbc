"""Keeping the directory (``partners.manage``, federation admins): every entry including inactive
ones, creating and editing entries, and partner logins — attaching an existing account without any
membership, inviting a new one by e-mail, removing one. Everyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.accounts.decorators import staff_required
from wegweiser.core.forms import form_submitted, run_with_message
from wegweiser.partners import access, actions
from wegweiser.partners.forms import MemberAddForm, MemberInviteForm, PartnerEditForm, PartnerForm
from wegweiser.partners.models import Partner
from wegweiser.partners.views import nav_context


def _require_manager(request: HttpRequest) -> None:
    if not access.can_manage(request.user):
        raise Http404


@staff_required
@require_GET
def manage(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    partners = Partner.objects.annotate(logins=Count("members")).order_by("-is_active", "name", "id")
    return render(request, "partners/manage.html", nav_context(request, partners=partners))


@staff_required
@require_http_methods(["GET", "POST"])
def partner_new(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = PartnerForm(request.POST or None)
    created: list[Partner] = []

    def create(data: dict[str, Any]) -> object:
        created.append(actions.partner_create(actor=request.user, **data))
        return created[-1]

    if request.method == "POST" and form_submitted(form, create):
        messages.success(request, _("The partner was added to the directory."))
        return redirect("partners:partner_edit", partner_id=created[0].public_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "partners/partner_form.html", nav_context(request, form=form), status=status)


def _edit_page(request: HttpRequest, partner: Partner, status: int = 200, **forms: Any) -> HttpResponse:
    initial = {
        "name": partner.name, "kind": partner.kind, "specialties": partner.specialties,
        "regions": partner.regions, "description": partner.description, "website": partner.website,
        "email": partner.email, "is_active": partner.is_active,
    }
    context = nav_context(
        request,
        partner=partner,
        form=forms.get("form") or PartnerEditForm(initial=initial),
        add_form=forms.get("add_form") or MemberAddForm(),
        invite_form=forms.get("invite_form") or MemberInviteForm(),
        members=list(partner.members.select_related("user").order_by("user__username")),
    )
    return render(request, "partners/partner_form.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def partner_edit(request: HttpRequest, partner_id: str) -> HttpResponse:
    found = access.access_partner_manage(request.user, partner_id)
    if request.method == "GET":
        return _edit_page(request, found)
    form = PartnerEditForm(request.POST)
    if form_submitted(form, lambda data: actions.partner_update(actor=request.user, partner=found, **data)):
        messages.success(request, _("Your changes have been saved."))
        return redirect("partners:partner_edit", partner_id=found.public_id)
    return _edit_page(request, found, 400, form=form)


@staff_required
@require_POST
def member_add(request: HttpRequest, partner_id: str) -> HttpResponse:
    found = access.access_partner_manage(request.user, partner_id)
    form = MemberAddForm(request.POST)
    if form_submitted(
        form, lambda data: actions.partner_member_add(actor=request.user, partner=found, **data)
    ):
        messages.success(request, _("The account now logs in for this partner."))
        return redirect("partners:partner_edit", partner_id=found.public_id)
    return _edit_page(request, found, 400, add_form=form)


@staff_required
@require_POST
def member_invite(request: HttpRequest, partner_id: str) -> HttpResponse:
    found = access.access_partner_manage(request.user, partner_id)
    form = MemberInviteForm(request.POST)
    base_url = request.build_absolute_uri("/").rstrip("/")

    def invite(data: dict[str, Any]) -> object:
        return actions.partner_login_invite(actor=request.user, partner=found, base_url=base_url, **data)

    if form_submitted(form, invite):
        messages.success(request, _("The login was created and an invitation e-mail sent."))
        return redirect("partners:partner_edit", partner_id=found.public_id)
    return _edit_page(request, found, 400, invite_form=form)


@staff_required
@require_POST
def member_remove(request: HttpRequest, partner_id: str, member_id: str) -> HttpResponse:
    found = access.access_partner_manage(request.user, partner_id)
    member = access.access_member(request.user, found, member_id)
    run_with_message(
        request,
        lambda: actions.partner_member_remove(actor=request.user, member=member),
        _("The login no longer belongs to this partner."),
    )
    return redirect("partners:partner_edit", partner_id=found.public_id)
