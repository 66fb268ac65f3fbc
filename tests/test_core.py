from __future__ import annotations

from typing import Any
from unittest import mock

from django.db import DatabaseError
from django.urls import reverse

from wegweiser.accounts.models import User


def test_healthz_reports_the_database(anon: Any) -> None:
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_fails_without_database(anon: Any) -> None:
    with mock.patch("wegweiser.core.views.connection.cursor", side_effect=DatabaseError("down")):
        response = anon.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_security_headers(anon: Any) -> None:
    response = anon.get("/")
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_pages_for_logged_in_users_are_not_cached(client_for: Any, mia: User) -> None:
    assert "no-store" in client_for(mia).get(reverse("dashboard"))["Cache-Control"]


def test_start_page_has_no_third_party_resources(anon: Any) -> None:
    body = anon.get("/").content.decode()
    assert "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body


def test_unknown_url_is_a_translated_404(anon: Any) -> None:
    anon.cookies["wegweiser_language"] = "sv"
    response = anon.get("/no/such/page/")
    assert response.status_code == 404
    assert "Sidan hittades inte" in response.content.decode()


def test_oversized_requests_are_refused(anon: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    password = "p" * 20_000
    response = anon.post(reverse("account_signup"),
                         {"username": "big", "password1": password, "password2": password})
    assert response.status_code == 400
    assert not User.objects.filter(username="big").exists()


def test_post_without_csrf_token_is_refused(db: Any) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_signup"),
                           {"username": "x1", "password1": "a" * 20, "password2": "a" * 20})
    assert response.status_code == 403
    assert not User.objects.filter(username="x1").exists()
