from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from wegweiser.partners.access import partner_of

View = Callable[..., HttpResponse]


def partner_required(view: View) -> View:
    """Pages of a partner's inbox: log in first; anyone who is not the login of an active partner
    (staff, clients, deactivated partners) gets 404. The view receives the partner as ``partner``.

    Partner accounts have no organization membership, so ``staff_required`` would turn them away.
    Unlike staff they are NOT required to set up TOTP: they never reach client data, only the
    requests organizations chose to send them (a title, a description, a region, a budget note),
    and a password is the protection those deserve. Should partners ever see more, require TOTP
    here as ``staff_required`` does.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        partner = partner_of(request.user)
        if partner is None:
            raise Http404
        return view(request, *args, partner=partner, **kwargs)

    return wrapper
