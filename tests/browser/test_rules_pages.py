"""The public transparency pages in a real browser: reachable from the footer, readable in the
chosen language, and free of serious accessibility problems (axe-core)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_login_and_language import assert_accessible

pytestmark = pytest.mark.browser


def test_visitor_reads_the_rules_and_their_sources(page: Page, db: Any) -> None:
    page.goto("/")
    page.get_by_role("link", name="Regeln als Code").click()
    expect(page).to_have_url("/rules/")
    assert_accessible(page)
    page.get_by_role("link", name="Bürgergeld / Grundsicherungsgeld (SGB II)").click()
    expect(page.locator("h1")).to_have_text("Bürgergeld / Grundsicherungsgeld (SGB II)")
    history = page.locator("#parameter-regelbedarf\\.rbs_1 tbody tr")
    expect(history).to_have_count(3)
    expect(history.first).to_contain_text("563,00")
    expect(page.locator("#parameter-unterkunft\\.karenzzeit_cap_rate")).to_contain_text("ungeprüft")
    assert_accessible(page)
    page.get_by_role("button", name="Svenska").click()
    expect(page.locator("h1")).to_have_text("Tyskland: Bürgergeld / Grundsicherungsgeld (SGB II)")
    page.set_viewport_size({"width": 360, "height": 740})
    assert_accessible(page)
    assert page.problems == []  # type: ignore[attr-defined]
