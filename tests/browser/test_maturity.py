"""The digital self-check in a real browser: ayse (agency lead) starts the check, invites jonas by
link, both answer (one statement per screen, the progress bar moving), ayse closes the check and
reads the result with the radar chart, the benchmark withheld below five peers and the
recommendations with their links. Pages pass axe-core; no console or CSP errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_ideas import watched
from tests.browser.test_login_and_language import assert_accessible, log_in_with_totp
from tests.conftest import make_staff
from wegweiser.maturity import actions, questionnaire
from wegweiser.maturity.models import Check, Respondent
from wegweiser.organizations.models import Role

pytestmark = pytest.mark.browser


def answer_on_screen(page: Page, count: int, label: str) -> None:
    for _ in range(count):
        page.get_by_label(label, exact=True).check()
        page.locator("form.statement button[type=submit]").first.click()


def test_invite_answer_close_and_read_the_result(page: Page, browser: Browser, live_server: Any,
                                                 tree: Any) -> None:
    make_staff("ayse", [(tree.agency_a, Role.AGENCY_LEAD)])
    make_staff("jonas", [(tree.agency_a, Role.COUNSELOR)])
    total = len(questionnaire.current().statements)

    log_in_with_totp(page, "ayse")
    page.goto("/maturity/")
    page.select_option("#id_size_band", "10-49")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/maturity/checks/[0-9a-f-]+/q/1/$"))
    assert_accessible(page)
    check = Check.objects.get()
    answer_on_screen(page, 3, "Trifft eher nicht zu")
    expect(page.locator("progress#progress")).to_have_attribute("value", "3")
    # The rest of ayse's answers, then the invitation link.
    respondent = Respondent.objects.get(user__username="ayse")
    for statement in questionnaire.current().statements[3:]:
        actions.answer_save(respondent=respondent, key=statement.key, value=2)
    page.goto(f"/maturity/checks/{check.public_id}/")
    page.locator("form:not([action]) button[type=submit]").click()
    link = page.locator("code").inner_text()
    assert "/maturity/join/" in link

    jonas_context = browser.new_context(base_url=live_server.url, locale="de-DE")
    jonas = watched(jonas_context.new_page())
    log_in_with_totp(jonas, "jonas")
    jonas.goto(link.replace(live_server.url, ""))
    jonas.locator("main form button[type=submit]").click()
    expect(jonas).to_have_url(re.compile(r"/q/1/$"))
    answer_on_screen(jonas, 2, "Trifft eher zu")
    assert_accessible(jonas)
    jonas_respondent = Respondent.objects.get(user__username="jonas")
    for statement in questionnaire.current().statements[2:]:
        actions.answer_save(respondent=jonas_respondent, key=statement.key, value=1)
    jonas.goto(f"/maturity/checks/{check.public_id}/")
    expect(jonas.locator("progress#my-progress")).to_have_attribute("value", str(total))

    page.goto(f"/maturity/checks/{check.public_id}/")
    page.locator("form[action$='/close/'] button").click()
    expect(page).to_have_url(f"/maturity/checks/{check.public_id}/results/")
    expect(page.locator("svg.radar polygon.radar-result")).to_have_count(1)
    expect(page.locator("table.result-table tbody tr")).to_have_count(5)
    expect(page.locator("main")).to_contain_text("nicht angezeigt")  # fewer than 5 peers
    expect(page.locator(".recommendation").first).to_be_visible()
    assert page.locator(".recommendation a").count() >= 1
    assert_accessible(page)
    # The catalogue and the partner directory the advice leads to pass axe too.
    from wegweiser.catalogue.actions import catalogue_load
    from wegweiser.partners.actions import partners_demo

    catalogue_load(actor=None)
    partners_demo()
    page.goto("/tools/")
    assert_accessible(page)
    page.locator("main a[href^='/tools/'][href$='/']").nth(3).click()
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page)
    page.goto("/tools/advice/?purpose=video&users=11_50&self_hosting=preferred&budget=small&clients=yes")
    expect(page.locator("main")).to_contain_text("Jitsi")
    assert_accessible(page)
    page.goto("/partners/")
    assert_accessible(page)
    for p in (page, jonas):
        assert not p.problems, p.problems  # type: ignore[attr-defined]
    jonas_context.close()
