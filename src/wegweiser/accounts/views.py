from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from wegweiser.accounts.actions import user_set_language
from wegweiser.organizations.access import Perm, has_mfa, is_staff_member, memberships_with, nodes_with_perm
from wegweiser.organizations.selectors import membership_list_for_user
from wegweiser.partners.access import partner_of


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    staff = is_staff_member(user)
    context = {
        "is_staff_member": staff,
        "has_mfa": has_mfa(user),
        "memberships": membership_list_for_user(user) if staff else [],
        "can_manage": staff and nodes_with_perm(user, Perm.MANAGE_MEMBERS).exists(),
        "can_audit": staff and nodes_with_perm(user, Perm.VIEW_AUDIT).exists(),
        "can_counsel": staff and nodes_with_perm(user, Perm.COUNSEL).exists(),
        "can_lead": staff and nodes_with_perm(user, Perm.LEAD_AGENCY).exists(),
        "can_decide_benefits": staff and nodes_with_perm(user, Perm.DECIDE_BENEFITS).exists(),
        "can_simulate_benefits": staff and nodes_with_perm(user, Perm.SIMULATE_BENEFITS).exists(),
        "can_ideas": staff and bool(memberships_with(user, Perm.SUBMIT_IDEAS)),
        "partner": None if staff else partner_of(user),
    }
    return render(request, "accounts/dashboard.html", context)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, safe redirect), remembering the choice for e-mails."""
    response = django_set_language(request)
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=request.POST.get("language", ""))
    return response
