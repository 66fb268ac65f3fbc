from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from wegweiser.organizations.access import has_mfa, is_staff_member

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Staff pages: log in first; non-staff get 404; staff without TOTP set it up first."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            raise Http404
        if not has_mfa(request.user):
            messages.warning(
                request, _("Set up two-factor authentication before you can work with client data.")
            )
            return redirect("mfa_activate_totp")
        return view(request, *args, **kwargs)

    return wrapper
