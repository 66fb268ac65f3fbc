"""Benefit applications in a real browser: mia applies and gets an automatic decision with its
letter; next month she reports a change, the application goes to the queue, a case worker
decides another amount with a reason, and mia downloads the letter. Pages pass axe-core."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_login_and_language import assert_accessible, log_in_with_totp
from tests.conftest import PASSWORD, make_staff, make_user
from wegweiser.accounts.models import User
from wegweiser.benefits import actions
from wegweiser.benefits.models import Application
from wegweiser.organizations.models import Role

pytestmark = pytest.mark.browser


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url("/dashboard/")


def apply(page: Page, month: str, salary: str) -> None:
    page.goto("/benefits/")
    page.fill("#id_month", month)
    page.get_by_role("button", name="Antrag beginnen").click()
    expect(page.locator("h1")).to_have_text(f"Antrag für {month}")
    page.fill("#id_person-0-age", "34")
    page.fill("#id_person-0-income_salary_net", salary)
    page.fill("#id_money-housing", "6000")


def download_letter(page: Page) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name="Bescheid herunterladen (PDF)").click()
    path = info.value.path()
    assert info.value.suggested_filename.endswith(".pdf")
    with open(path, "rb") as handle:  # a temporary file Playwright owns
        return handle.read()


def test_apply_decide_automatically_then_queue_and_override(page: Page, browser: Browser, live_server: Any,
                                                            tree: Any, settings: Any, tmp_path: Any) -> None:
    settings.ATTACHMENT_ROOT = tmp_path
    actions.office_create(actor=None, node=tree.agency_a, ruleset="se.ekonomiskt_bistand",
                                   auto_enabled=True, auto_repeat_only=False, auto_require_receipts=False,
                                   auto_max_change_percent=5)
    make_user("mia", User.Kind.CLIENT)
    make_staff("bo", [(tree.agency_a, Role.CASE_WORKER)])

    log_in(page, "mia")
    apply(page, "2026-01", "1000")
    assert_accessible(page)
    page.set_viewport_size({"width": 360, "height": 740})  # on a phone
    assert_accessible(page)
    # No sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.get_by_role("button", name="Antrag stellen").click()
    expect(page.locator("main")).to_contain_text("Ihr Antrag wurde gestellt.")
    expect(page.locator("main")).to_contain_text("Entschieden")
    expect(page.locator(".callout")).to_contain_text("Sie erhalten")
    assert_accessible(page)
    assert download_letter(page).startswith(b"%PDF")
    first = Application.objects.get(month="2026-01")
    assert first.decision.automatic

    apply(page, "2026-02", "2000")  # pre-filled with January; the salary doubled
    page.get_by_role("button", name="Antrag stellen").click()
    expect(page.locator("main")).to_contain_text("prüft Ihren Antrag")
    second = Application.objects.get(month="2026-02")
    assert second.status == Application.Status.QUEUED
    calculated = second.assessments.get().amount

    worker = browser.new_context(base_url=live_server.url, locale="de-DE").new_page()
    worker_problems: list[str] = []
    worker.on("pageerror", lambda exc: worker_problems.append(str(exc)))
    log_in_with_totp(worker, "bo")
    worker.goto("/benefits/queue/")
    worker.get_by_role("link", name="2026-02 · Beratungsstelle A").click()
    expect(worker.locator("main")).to_contain_text("Beträge haben sich stärker geändert")
    expect(worker.locator(".explanation")).to_contain_text(
        "Persönliche Kosten, alleinstehende erwachsene Person")
    assert_accessible(worker)
    worker.fill("#id_decide-amount", str((calculated + 20000) // 100))
    worker.get_by_role("button", name="Entscheiden").click()
    expect(worker.locator("main")).to_contain_text("Bitte schreiben Sie die Begründung auf.")
    worker.fill("#id_decide-reason", "Arbeitsfahrten laut Beleg höher.")
    worker.get_by_role("button", name="Entscheiden").click()
    expect(worker.locator("main")).to_contain_text("Entscheidung gespeichert.")

    page.goto(f"/benefits/applications/{second.public_id}/")
    expect(page.locator("main")).to_contain_text("Arbeitsfahrten laut Beleg höher.")
    assert download_letter(page).startswith(b"%PDF")
    second.refresh_from_db()
    assert second.decision.amount == calculated + 20000 and not second.decision.automatic
    assert page.problems == [] and worker_problems == []  # type: ignore[attr-defined]
    worker.context.close()
