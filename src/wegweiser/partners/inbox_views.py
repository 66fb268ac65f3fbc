"""The partners' side: their inbox of requests addressed to them, one request, and their answer.
Every page is ``partner_required`` and looks requests up only among the partner's own recipient
rows, so any other request id is a 404 — partners never see other partners or their answers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wegweiser.core.forms import form_submitted
from wegweiser.partners import access, actions
from wegweiser.partners.decorators import partner_required
from wegweiser.partners.forms import ReplyForm
from wegweiser.partners.models import Partner, RequestRecipient

PAGE_SIZE = 50


@partner_required
@require_GET
def inbox(request: HttpRequest, partner: Partner) -> HttpResponse:
    entries = access.inbox_for(partner).order_by("-sent_at", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "partners/inbox.html", {"partner": partner, "page": page})


def _entry_page(request: HttpRequest, partner: Partner, entry: RequestRecipient,
                form: ReplyForm | None = None) -> HttpResponse:
    initial = {"status": entry.status, "message": entry.reply} if entry.replied_at else {}
    context = {"partner": partner, "entry": entry, "form": form or ReplyForm(initial=initial)}
    return render(request, "partners/inbox_request.html", context, status=400 if form is not None else 200)


@partner_required
@require_GET
def inbox_request(request: HttpRequest, request_id: str, partner: Partner) -> HttpResponse:
    return _entry_page(request, partner, access.access_inbox_entry(partner, request_id))


@partner_required
@require_POST
def reply(request: HttpRequest, request_id: str, partner: Partner) -> HttpResponse:
    entry = access.access_inbox_entry(partner, request_id)
    form = ReplyForm(request.POST)

    def answer(data: dict[str, Any]) -> object:
        return actions.partner_reply(actor=request.user, recipient=entry, **data)

    if form_submitted(form, answer):
        messages.success(request, _("Your answer was sent to the organization."))
        return redirect("partners:inbox_request", request_id=entry.request.public_id)
    return _entry_page(request, partner, entry, form)
