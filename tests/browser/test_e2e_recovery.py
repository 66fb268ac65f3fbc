"""Keys across password changes in a real browser (docs/security.md, "Recovering access"): the
password change re-wraps the key, the recovery key sets a new password without e-mail, the
unlock box opens a key the browser does not hold, and after a password reset the recovery key
wraps the key for the new password."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, expect

from tests import e2e_protocol as p
from tests.browser.test_chat import _context_page, asgi_server  # noqa: F401 (fixture)
from tests.browser.test_login_and_language import assert_accessible, log_in
from tests.conftest import PASSWORD
from tests.e2e_fixtures import identity_of
from wegweiser.counseling.models import IdentityKey

MARKER = "Geheimnis-Marker-4711"  # the first message of the `keyed` conversation


def _bundle_opens_with(username: str, password: str) -> bool:
    bundle = IdentityKey.objects.get(user__username=username).bundle
    try:
        p.unlock_password(bundle, username, password)
    except Exception:
        return False
    return True


def test_password_change_recovery_and_unlock(browser: Browser, asgi_server: str, keyed: Any,  # noqa: F811
                                             mia: Any) -> None:
    url = f"/conversations/{keyed.conversation.public_id}/"

    # Logged in on a fresh device: the key opens with the password typed on the login page.
    page = _context_page(browser, asgi_server)
    log_in(page, "mia", PASSWORD)
    page.goto(url)
    expect(page.locator("#messages")).to_contain_text(MARKER)

    # Changing the password re-wraps the key in the browser, together with the change.
    changed = "ein ganz anderes langes passwort"
    page.goto("/accounts/password/change/")
    page.fill("#id_oldpassword", PASSWORD)
    page.fill("#id_password1", changed)
    page.fill("#id_password2", changed)
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".messages")).to_contain_text("Das Passwort wurde geändert.")
    mia.refresh_from_db()
    assert mia.check_password(changed)
    assert _bundle_opens_with("mia", changed) and not _bundle_opens_with("mia", PASSWORD)

    # A browser without the key (cleared storage): the unlock box asks for the password.
    page.evaluate("WegweiserE2E.keyStore.clear()")
    page.goto(url)
    expect(page.locator("#e2e-unlock")).to_be_visible()
    assert_accessible(page)
    page.fill("#e2e-unlock-password", "falsch falsch falsch falsch")
    page.get_by_role("button", name="Entsperren").click()
    expect(page.locator("#e2e-unlock .e2e-error")).to_contain_text("nicht richtig")
    page.fill("#e2e-unlock-password", changed)
    page.get_by_role("button", name="Entsperren").click()
    expect(page.locator("#messages")).to_contain_text(MARKER)
    expect(page.locator("#e2e-unlock")).to_be_hidden()
    page.context.close()

    # Forgotten password, no e-mail: the recovery key sets a new one and the key goes with it.
    recovered = "mit dem schluessel zurueck gewonnen"
    page = _context_page(browser, asgi_server)
    page.goto("/accounts/login/")
    page.get_by_role("link", name=re.compile("Wiederherstellungsschlüssel")).click()
    assert_accessible(page)
    page.fill("#recover-username", "mia")
    page.fill("#recover-key", identity_of("mia")["recovery_key"].lower().replace("-", " "))
    page.fill("#recover-password1", recovered)
    page.fill("#recover-password2", recovered)
    page.get_by_role("button", name="Neues Passwort setzen").click()
    expect(page.locator("#e2e-recover-done")).to_be_visible(timeout=15000)
    mia.refresh_from_db()
    assert mia.check_password(recovered) and _bundle_opens_with("mia", recovered)
    log_in(page, "mia", recovered)
    page.goto(url)
    expect(page.locator("#messages")).to_contain_text(MARKER)
    page.context.close()

    # A password set behind the key's back (a reset by e-mail): the unlock box takes the
    # recovery key and the current password, and wraps the key for it.
    reset = "vom support zurueckgesetztes passwort"
    mia.set_password(reset)
    mia.save()
    page = _context_page(browser, asgi_server)
    log_in(page, "mia", reset)
    page.goto(url)
    expect(page.locator("#e2e-unlock")).to_be_visible()
    page.get_by_role("button", name="Meinen Wiederherstellungsschlüssel verwenden").click()
    page.fill("#e2e-unlock-password", reset)
    page.fill("#e2e-unlock-recovery", identity_of("mia")["recovery_key"])
    page.get_by_role("button", name="Entsperren").click()
    expect(page.locator("#messages")).to_contain_text(MARKER)
    assert _bundle_opens_with("mia", reset)
    assert not page.problems, page.problems  # type: ignore[attr-defined]
    page.context.close()
