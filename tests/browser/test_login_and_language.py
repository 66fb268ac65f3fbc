"""A counselor logs in through two-factor authentication and switches the language; the start,
login and dashboard pages pass axe-core without serious or critical violations."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, totp_code
from wegweiser.accounts.models import User

pytestmark = pytest.mark.browser


def translated(language: str, message: str, **params: Any) -> str:
    with translation.override(language):
        return translation.gettext(message) % params if params else translation.gettext(message)


def assert_accessible(page: Page) -> None:
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not serious, "\n".join(serious)


def submit_login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").first.click()


def log_in(page: Page, username: str, password: str) -> None:
    """A login without a second factor (clients)."""
    submit_login(page, username, password)
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def log_in_with_totp(page: Page, username: str) -> None:
    submit_login(page, username)
    expect(page).to_have_url("/accounts/2fa/authenticate/")
    page.fill("#id_code", totp_code(margin=8))
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url("/dashboard/")


def test_counselor_logs_in_with_2fa_and_switches_language(page: Page, jonas: User) -> None:
    log_in_with_totp(page, "jonas")
    expect(page.locator("h1")).to_have_text(translated("de", "Hello, %(name)s", name="jonas"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("link", name="Beratungsstelle A")).to_be_visible()

    page.get_by_role("button", name="Svenska").click()
    expect(page).to_have_url("/dashboard/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("h1")).to_have_text(translated("sv", "Hello, %(name)s", name="jonas"))
    expect(page.get_by_role("heading", name=translated("sv", "My roles"))).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Hello, jonas")
    jonas.refresh_from_db()
    assert jonas.language == "en"
    assert page.problems == []  # type: ignore[attr-defined]


def test_wrong_totp_code_does_not_log_in(page: Page, jonas: User) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", "jonas")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.fill("#id_code", "000000" if totp_code() != "000000" else "111111")
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url("/accounts/2fa/authenticate/")
    page.goto("/dashboard/")
    # Not logged in: the dashboard sends the visitor back to the pending login step.
    expect(page.locator("#id_code")).to_be_visible()
    expect(page.locator("h1")).not_to_have_text(translated("de", "Hello, %(name)s", name="jonas"))


def test_start_login_and_dashboard_pass_axe(page: Page, jonas: User) -> None:
    page.goto("/")
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)
    page.goto("/accounts/login/")
    assert_accessible(page)
    log_in_with_totp(page, "jonas")
    assert_accessible(page)
    page.set_viewport_size({"width": 360, "height": 740})
    assert_accessible(page)
    assert page.problems == []  # type: ignore[attr-defined]
