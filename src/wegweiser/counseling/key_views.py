"""Pages and JSON endpoints of end-to-end encryption keys (docs/e2e-protocol.md). The browser
creates, wraps, seals and opens every key (static/wegweiser/js/keys.js); these views check who
may fetch and store what. JSON endpoints take and give JSON, answer bad input with 400 and
``{"error": <translated text>}``, and unknown or forbidden objects with 404."""

from __future__ import annotations

from typing import Any

from allauth.core import ratelimit
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wegweiser.core.views import json_body, json_error
from wegweiser.counseling.access import access_counsel_agency, counsel_agency_ids
from wegweiser.counseling.actions import keys as key_actions
from wegweiser.counseling.models import Agency
from wegweiser.counseling.selectors import keys_me, team_key_state


def _too_many() -> JsonResponse:
    return _error(ValidationError(_("Too many attempts. Please wait a minute."), code="rate_limited"), 429)


_error = json_error


@login_required
@require_GET
def keys_page(request: HttpRequest) -> HttpResponse:
    """Set up, unlock or replace one's encryption key; needs JavaScript (the keys are made in
    the browser)."""
    return render(request, "counseling/keys.html", {"keys_me": keys_me(request.user),
                                                    "next": _safe_next(request)})


def _safe_next(request: HttpRequest) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def identity(request: HttpRequest) -> JsonResponse:
    """GET: the user's identity bundle (for keys.js on pages without it). POST: store a new
    one: {"password", "bundle", "recovery", "replace"}."""
    if request.method == "GET":
        return JsonResponse(keys_me(request.user))
    if not ratelimit.consume(request, action="reauthenticate"):
        return _too_many()
    try:
        data, password = _with_password(request)
        key_actions.identity_set(user=request.user, password=password, bundle=data.get("bundle"),
                                 recovery_proof=data.get("recovery"), replace=data.get("replace") is True)
    except ValidationError as exc:
        return _error(exc)
    return JsonResponse({"ok": True, "bundle": keys_me(request.user)["bundle"]})


def _with_password(request: HttpRequest) -> tuple[dict[str, Any], str]:
    """The JSON body and its "password" (the account's, checked by the action)."""
    data = json_body(request)
    password = data.get("password")
    if not isinstance(password, str):
        raise ValidationError(_("The password is not correct."), code="password")
    return data, password


@login_required
@require_POST
def rewrap(request: HttpRequest) -> JsonResponse:
    """The key wrapped for the current password again: {"password", "password_wrap"}."""
    if not ratelimit.consume(request, action="reauthenticate"):
        return _too_many()
    try:
        data, password = _with_password(request)
        key_actions.identity_rewrap(user=request.user, password=password,
                                    password_wrap=data.get("password_wrap"))
    except ValidationError as exc:
        return _error(exc)
    return JsonResponse({"ok": True})


@login_required
@require_GET
def teams(request: HttpRequest) -> JsonResponse:
    """Team keys of every agency the user counsels on: what the browser must do (create the
    first key, share keys with colleagues, rotate after someone left)."""
    agencies = Agency.objects.filter(pk__in=counsel_agency_ids(request.user)).select_related("node")
    return JsonResponse({"agencies": [team_key_state(request.user, agency) for agency in agencies]})


@login_required
@require_POST
def team(request: HttpRequest, agency_id: str) -> JsonResponse:
    """{"action": "create", "key", "public", "grants": [{"user", "sealed"}], "expected"} or
    {"action": "grant", "grants": [{"kid", "user", "sealed"}]}."""
    agency = access_counsel_agency(request.user, agency_id)
    try:
        data = json_body(request)
        if data.get("action") == "create":
            key_actions.team_key_create(actor=request.user, agency=agency, key_id=data.get("key"),
                                        public=data.get("public"), grants=data.get("grants"),
                                        expected_current=data.get("expected"))
        elif data.get("action") == "grant":
            key_actions.team_key_grant(actor=request.user, agency=agency, grants=data.get("grants"))
        else:
            raise ValidationError(_("Unknown action."), code="invalid")
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        return _error(exc, 409 if exc.code == "stale" else 400)
    return JsonResponse(team_key_state(request.user, agency))


@require_http_methods(["GET", "POST"])
def recover(request: HttpRequest) -> HttpResponse:
    """A client who forgot the password sets a new one with the recovery key. Step "check"
    ({"username", "proof"}) returns the private key wrapped with the recovery key; step "reset"
    (also "password", "password_wrap") sets the password. Rate-limited like password resets;
    the same answer for an unknown username and a wrong key."""
    if request.method == "GET":
        return render(request, "counseling/keys_recover.html", {})
    try:
        data = json_body(request)
        username, proof = data.get("username"), data.get("proof")
        if not isinstance(username, str) or not username or len(username) > 150:
            raise ValidationError(_("The username or the recovery key is not correct."), code="recovery")
        # Per address and per username, as allauth limits password resets by e-mail: every
        # check, and every reset that fails (it checks the proof again).
        def limited() -> bool:
            return not ratelimit.consume(request, action="reset_password", key=str(username).lower())

        if data.get("step") == "check" and limited():
            return _too_many()
        if data.get("step") == "check":
            key = key_actions.recovery_check(username=username, proof=proof)
            if key is None:
                raise ValidationError(_("The username or the recovery key is not correct."), code="recovery")
            # Only what opening with the recovery key needs (the username gives the new salt).
            return JsonResponse({"bundle": {"v": 1, "public": key.bundle["public"],
                                            "recovery": key.bundle["recovery"]},
                                 "username": key.user.username})
        password = data.get("password")
        if not isinstance(password, str):
            raise ValidationError(_("Please choose a new password."), code="password")
        try:
            key_actions.account_recover(username=username, proof=proof, new_password=password,
                                        password_wrap=data.get("password_wrap"))
        except ValidationError as exc:
            if getattr(exc, "code", None) == "recovery" and limited():
                return _too_many()
            raise
    except ValidationError as exc:
        return _error(exc)
    return JsonResponse({"ok": True, "next": reverse("account_login")})
