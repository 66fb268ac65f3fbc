"""The needs & ideas pipeline in a real browser: jonas types a title and sees that a similar idea
exists, submits his own anyway; sven from another branch supports it; greta of the competence
centre moves it to the workshop stage with a public answer, plans a workshop for it, sven
registers, and after the workshop greta writes the outcome with the idea that moved on. Pages
pass axe-core; no console errors (the CSP holds)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_login_and_language import assert_accessible, log_in_with_totp
from tests.conftest import make_staff
from tests.ideas_fixtures import make_item
from wegweiser.ideas.models import Item, Registration, Workshop, WorkshopIdea
from wegweiser.organizations.models import Role

pytestmark = pytest.mark.browser


def test_submit_hint_support_stage_change_and_workshop(
    page: Page, browser: Browser, live_server: Any, tree: Any, settings: Any, tmp_path: Any
) -> None:
    settings.ATTACHMENT_ROOT = tmp_path
    make_staff("jonas", [(tree.agency_a, Role.COUNSELOR)])
    make_staff("sven", [(tree.region_south, Role.STAFF)])
    make_staff("greta", [(tree.fed, Role.INNOVATION)])
    berit = make_staff("berit", [(tree.agency_b, Role.STAFF)])
    existing = make_item(berit, tree.agency_b, title="Besuchsdienst für einsame Seniorinnen und Senioren")
    make_item(berit, tree.agency_b, title="Dienstplan-App für die Kita", field="childcare")

    # jonas submits; the duplicate hint appears while he types.
    log_in_with_totp(page, "jonas")
    page.goto(f"/ideas/f/{tree.fed.public_id}/new/")
    page.locator("#id_title").press_sequentially("Einsamkeit von Senioren", delay=20)
    hint = page.locator("#similar a")
    expect(hint).to_have_count(1)
    expect(hint).to_have_text(existing.title)
    assert_accessible(page)
    page.locator("#id_title").fill("Telefonkette gegen Einsamkeit von Senioren")
    page.fill("#id_problem", "Viele Ältere sind allein; Ehrenamtliche könnten anrufen.")
    page.fill("#id_affected", "Ältere Menschen, die allein leben")
    page.select_option("#id_field", "elderly_care")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Telefonkette gegen Einsamkeit von Senioren")
    idea = Item.objects.get(title="Telefonkette gegen Einsamkeit von Senioren")
    assert idea.branch == tree.agency_a and idea.stage.key == "submitted"

    # sven, from another branch, supports it.
    sven_context = browser.new_context(base_url=live_server.url, locale="de-DE")
    sven_page = watched(sven_context.new_page())
    log_in_with_totp(sven_page, "sven")
    sven_page.goto(f"/ideas/items/{idea.public_id}/")
    sven_page.locator("form[action$='/support/'] button").click()
    expect(sven_page.locator(".supporting")).to_contain_text("Region Süd")
    assert_accessible(sven_page)
    idea.refresh_from_db()
    assert idea.support_count == 1

    # greta moves it to the workshop stage; an empty answer is refused first.
    greta_context = browser.new_context(base_url=live_server.url, locale="de-DE")
    greta_page = watched(greta_context.new_page())
    log_in_with_totp(greta_page, "greta")
    greta_page.goto(f"/ideas/items/{idea.public_id}/triage/")
    workshop_stage = idea.federation.idea_stages.get(key="workshop")
    greta_page.select_option("#id_stage", str(workshop_stage.public_id))
    greta_page.locator("form[action$='/move/'] button[type=submit]").click()
    expect(greta_page.locator("form[action$='/move/'] .error")).to_have_count(1)
    idea.refresh_from_db()
    assert idea.stage.key == "submitted"
    greta_page.select_option("#id_stage", str(workshop_stage.public_id))
    greta_page.fill("#id_answer", "Wir besprechen das im Workshop im Januar.")
    greta_page.locator("form[action$='/move/'] button[type=submit]").click()
    expect(greta_page.locator(".message-success")).to_have_count(1)
    idea.refresh_from_db()
    assert idea.stage.key == "workshop"
    assert_accessible(greta_page)
    sven_page.goto(f"/ideas/items/{idea.public_id}/")
    expect(sven_page.locator(".history")).to_contain_text("Wir besprechen das im Workshop im Januar.")

    # greta plans a workshop for the idea; sven registers.
    plan_workshop(greta_page, idea)
    workshop = Workshop.objects.get()
    assert WorkshopIdea.objects.filter(workshop=workshop, item=idea).exists()
    sven_page.goto(f"/ideas/workshops/{workshop.public_id}/")
    sven_page.locator("form[action$='/register/'] button").click()
    expect(sven_page.locator("form[action$='/unregister/']")).to_have_count(1)
    assert Registration.objects.filter(workshop=workshop, user__username="sven").exists()
    assert_accessible(sven_page)

    # After the workshop greta writes the outcome and marks the idea as moved on.
    Workshop.objects.filter(pk=workshop.pk).update(
        starts_at=workshop.starts_at - dt.timedelta(days=30), ends_at=workshop.ends_at - dt.timedelta(days=30)
    )
    write_outcome(greta_page, workshop, idea)
    link = WorkshopIdea.objects.get(workshop=workshop, item=idea)
    assert link.moved_on
    sven_page.goto(f"/ideas/items/{idea.public_id}/")
    expect(sven_page.locator(f"a[href='/ideas/workshops/{workshop.public_id}/']")).to_have_count(1)
    # The triage side's overview and matrix, the board, and an improvement cycle with its run
    # chart pass axe too.
    for url in (
        f"/ideas/f/{tree.fed.public_id}/",
        f"/ideas/f/{tree.fed.public_id}/overview/",
        f"/ideas/f/{tree.fed.public_id}/matrix/",
    ):
        greta_page.goto(url)
        assert_accessible(greta_page)
    cycle = cycle_with_measurements(tree, idea)
    page.goto(f"/ideas/cycles/{cycle.public_id}/")
    expect(page.locator("svg[role=img]")).to_have_count(1)
    assert_accessible(page)
    for p in (page, sven_page, greta_page):
        # A refused form answers 400 on purpose (greta's empty answer); nothing else may show.
        problems = [m for m in p.problems if "status of 400" not in m]  # type: ignore[attr-defined]
        assert not problems, problems
    sven_context.close()
    greta_context.close()


def cycle_with_measurements(tree: Any, idea: Item) -> Any:
    from wegweiser.accounts.models import User
    from wegweiser.ideas import actions

    jonas = User.objects.get(username="jonas")
    cycle = actions.cycle_create(
        actor=jonas,
        federation=tree.fed,
        team=tree.agency_a,
        title="Telefonkette testen",
        aim="Weniger Einsamkeit",
        measure="Anrufe pro Woche",
        measure_unit="",
        higher_is_better=True,
        baseline="3",
        change_idea="Feste Anrufzeiten",
        item=idea,
    )
    today = timezone.localdate()
    for days, value in ((21, "3"), (14, "5"), (7, "6"), (0, "8")):
        actions.measurement_add(actor=jonas, cycle=cycle, date=today - dt.timedelta(days=days), value=value)
    actions.pdsa_start(
        actor=jonas,
        cycle=cycle,
        plan="Zwei Wochen testen",
        prediction="Mehr Anrufe",
        started_on=today - dt.timedelta(days=14),
    )
    return cycle


def watched(page: Page) -> Page:
    """Collect console errors and CSP reports, as the ``page`` fixture does."""
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" or "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems  # type: ignore[attr-defined]
    return page


def plan_workshop(page: Page, idea: Item) -> None:
    """From the idea's page: the idea comes pre-ticked."""
    page.goto(f"/ideas/items/{idea.public_id}/")
    page.locator("a[href*='/workshops/new/?item=']").click()
    expect(page.locator(f"input[value='{idea.public_id}']")).to_be_checked()
    start = (timezone.localtime() + dt.timedelta(days=7)).replace(hour=10, minute=0)
    page.fill("#id_title", "Workshop: Einsamkeit im Alter")
    page.fill("#id_starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ends_at", (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_place", "Kreisverband Kiel, Raum 2")
    page.fill("#id_capacity", "12")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("h1")).to_have_text("Workshop: Einsamkeit im Alter")
    assert_accessible(page)


def write_outcome(page: Page, workshop: Workshop, idea: Item) -> None:
    page.goto(f"/ideas/workshops/{workshop.public_id}/outcome/")
    page.fill("#id_outcome", "Wir testen die Telefonkette drei Monate in Kiel.")
    page.locator(f"input[name=moved_on][value='{idea.public_id}']").check()
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("main")).to_contain_text("Wir testen die Telefonkette drei Monate in Kiel.")
