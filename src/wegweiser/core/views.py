from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    """A stored file as a download: never rendered in our origin, never cached, and the name made
    header-safe by Django (the one way every app sends files)."""
    from django.utils.http import content_disposition_header

    response = HttpResponse(data, content_type=content_type)
    disposition = content_disposition_header(as_attachment=True, filename=filename)
    response.headers["Content-Disposition"] = disposition or "attachment"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


MAX_JSON_BYTES = 256 * 1024


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object a script posted, or a translated ValidationError (too large, not JSON,
    not an object, nested too deep)."""
    import json

    if len(request.body) > MAX_JSON_BYTES:
        raise ValidationError(_("The request is too large."), code="too_large")
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError(_("The request is not valid JSON."), code="invalid") from None
    if not isinstance(data, dict):
        raise ValidationError(_("The request is not valid JSON."), code="invalid")
    return data


def json_error(exc: ValidationError, status: int = 400) -> JsonResponse:
    """A refused JSON request: ``{"error": <translated text>, "code": <code>}``."""
    return JsonResponse({"error": " ".join(exc.messages), "code": getattr(exc, "code", None) or "invalid"},
                        status=status)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "core/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise. Says nothing else about the server."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("healthz: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
