"""End-to-end encryption in real browsers (docs/e2e-protocol.md): counselors set up their keys
and the team key appears and is shared; a client registers with an encrypted enquiry and notes
the recovery key; both chat and exchange a file; the safety codes match; the client reads the
history on a second device after logging in there; a handed-over conversation is readable by
the new counselor; and the database holds none of the text."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from django.db import connection
from playwright.sync_api import Browser, Page, expect

from tests import e2e_protocol as p
from tests.browser.test_chat import _context_page, asgi_server  # noqa: F401 (fixture)
from tests.browser.test_login_and_language import assert_accessible, log_in, log_in_with_totp
from tests.conftest import PASSWORD, make_staff
from wegweiser.counseling.models import (
    Agency,
    Attachment,
    Conversation,
    IdentityKey,
    Message,
    PostcodeRange,
    TeamKey,
    TeamKeyGrant,
    Topic,
)
from wegweiser.organizations.actions import membership_delete
from wegweiser.organizations.models import Membership, Role

CLIENT_PASSWORD = "ein langes passwort fuer mich"
MARKERS = ("Mietschulden-Marker-Alpha", "Antwort-Marker-Beta", "Datei-Marker-Gamma", "Nach-Uebergabe-Delta")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
       + MARKERS[2].encode())


def _until(check: Any, what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _set_up_keys(page: Page) -> str:
    """The encryption page: password, then the recovery key once; returns the recovery key."""
    page.goto("/keys/")
    assert_accessible(page)
    page.fill("#e2e-setup-password", PASSWORD)
    page.get_by_role("button", name="Verschlüsselung einrichten").click()
    key = page.locator("#e2e-recovery-key")
    expect(key).to_have_text(re.compile(r"^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$"), timeout=15000)
    recovery = key.inner_text()
    page.check("#e2e-recovery-ok")
    page.locator("#e2e-recovery-continue").click()
    expect(page.locator("#e2e-done")).to_be_visible()
    return recovery


def test_encrypted_counseling_across_devices_and_handover(
        browser: Browser, asgi_server: str, tree: Any) -> None:  # noqa: F811
    topic = Topic.objects.create(organization=tree.fed, name="Schulden", encryption_required=True)
    agency = Agency.objects.create(node=tree.agency_a)
    agency.topics.add(topic)
    PostcodeRange.objects.create(agency=agency, country="DE", start="24000", end="24999")
    jonas = make_staff("jonas", [(tree.agency_a, Role.COUNSELOR)])
    nora = make_staff("nora", [(tree.agency_a, Role.COUNSELOR)])

    # jonas sets up his key; his browser makes the agency's first team key, sealed to him.
    counselor = _context_page(browser, asgi_server)
    log_in_with_totp(counselor, "jonas")
    _set_up_keys(counselor)
    team_key = _until(lambda: TeamKey.objects.filter(agency=agency).first(), "the team key")
    assert TeamKeyGrant.objects.filter(team_key=team_key, user=jonas).exists()
    bundle = IdentityKey.objects.get(user=jonas).bundle
    assert bundle["password"]["iter"] >= 600_000
    # The bundle opens with the password in Python too (the browser followed the protocol).
    assert p.public_raw(p.unlock_password(bundle, "jonas", PASSWORD)) == p.b64u_decode(bundle["public"])

    # nora sets up hers; jonas's browser shares the team key with her on his next page.
    colleague = _context_page(browser, asgi_server)
    log_in_with_totp(colleague, "nora")
    _set_up_keys(colleague)
    counselor.goto("/inbox/")
    _until(lambda: TeamKeyGrant.objects.filter(team_key=team_key, user=nora).exists(), "nora's team key")

    # A client registers with an encrypted enquiry and notes the recovery key.
    client = _context_page(browser, asgi_server)
    client.goto(f"/counseling/enquiry/{tree.agency_a.public_id}/{topic.public_id}/?postcode=24103")
    client.fill("#id_username", "sonnenblume24")
    client.fill("#id_password", CLIENT_PASSWORD)
    client.fill("#id_body", f"Ich habe {MARKERS[0]}.")
    client.check("#id_privacy")
    client.get_by_role("button", name="Anfrage senden").click()
    expect(client.locator("#e2e-recovery-key")).to_be_visible(timeout=15000)
    assert_accessible(client)
    client.check("#e2e-recovery-ok")
    client.locator("#e2e-recovery-continue").click()
    expect(client.locator("#messages")).to_contain_text(MARKERS[0], timeout=15000)
    conversation = Conversation.objects.get(client__username="sonnenblume24")
    assert conversation.key_id

    # jonas accepts and answers; both read each other live.
    counselor.goto("/inbox/")
    counselor.get_by_role("button", name="Annehmen").first.click()
    expect(counselor.locator("#messages")).to_contain_text(MARKERS[0], timeout=15000)
    expect(counselor.locator("#chat.live")).to_be_visible()
    counselor.fill("#id_body", f"Guten Tag. {MARKERS[1]}")
    counselor.get_by_role("button", name="Senden", exact=True).click()
    expect(client.locator("#messages")).to_contain_text(MARKERS[1], timeout=15000)

    # A file, encrypted in the client's browser; jonas downloads and gets the very bytes.
    client.set_input_files("#id_file", files=[{"name": "beleg.png", "mimeType": "image/png", "buffer": PNG}])
    client.get_by_role("button", name="Datei senden").click()
    expect(counselor.locator("#messages")).to_contain_text("beleg.png", timeout=15000)
    with counselor.expect_download() as download:
        counselor.get_by_role("link", name="beleg.png").click()
    assert Path(download.value.path()).read_bytes() == PNG
    assert download.value.suggested_filename == "beleg.png"
    stored = Attachment.objects.get(conversation=conversation)
    assert stored.filename == "" and stored.size == len(PNG) + 28

    # The safety codes match (and are what the protocol gives for the keys stored).
    client.locator("#e2e-safety summary").click()
    assert_accessible(client)
    client_code = client.locator("#e2e-safety-code").text_content()
    assert client_code == counselor.locator("#e2e-safety-code").text_content()
    client_public = IdentityKey.objects.get(user__username="sonnenblume24").public
    assert client_code == p.safety_code(p.b64u_decode(client_public), p.b64u_decode(team_key.public))
    # The client marks the code as compared; the page remembers it (on every device).
    client.get_by_role("button", name="Ich habe den Code verglichen").click()
    expect(client.locator("#e2e-safety-state")).to_have_text("Sie haben diesen Code verglichen.")
    client.reload()
    client.locator("#e2e-safety summary").click()
    expect(client.locator("#e2e-safety-state")).to_have_text("Sie haben diesen Code verglichen.")
    expect(client.get_by_role("button", name="Ich habe den Code verglichen")).to_be_hidden()

    # A second device: the client logs in there and reads the whole history.
    other_device = _context_page(browser, asgi_server)
    log_in(other_device, "sonnenblume24", CLIENT_PASSWORD)
    other_device.goto(f"/conversations/{conversation.public_id}/")
    for marker in MARKERS[:2]:
        expect(other_device.locator("#messages")).to_contain_text(marker, timeout=15000)
    expect(other_device.locator("#messages")).to_contain_text("beleg.png")
    expect(other_device.locator("#e2e-unlock")).to_be_hidden()

    # Handover to nora with the client's consent: nora reads everything, from her own browser.
    counselor.select_option("#id_to_counselor", label="nora")
    counselor.get_by_role("button", name="Zustimmung zur Übergabe erfragen").click()
    client.reload()
    client.get_by_role("button", name="Ja, ich bin einverstanden").click()
    colleague.goto(f"/conversations/{conversation.public_id}/")
    for marker in MARKERS[:2]:
        expect(colleague.locator("#messages")).to_contain_text(marker, timeout=15000)
    colleague.fill("#id_body", MARKERS[3])
    colleague.get_by_role("button", name="Senden", exact=True).click()
    expect(other_device.locator("#messages")).to_contain_text(MARKERS[3], timeout=15000)

    # jonas leaves the agency: nora's browser replaces the team key for new conversations, sealed
    # to her alone; jonas keeps no grant; nora still reads the conversation (old team key).
    admin = make_staff("frieda", [(tree.fed, Role.FEDERATION_ADMIN)])
    membership_delete(actor=admin, membership=Membership.objects.get(user=jonas, node=tree.agency_a))
    colleague.goto("/inbox/")
    fresh = _until(lambda: TeamKey.objects.filter(agency=agency, retired_at__isnull=True)
                   .exclude(pk=team_key.pk).first(), "the new team key")
    assert set(TeamKeyGrant.objects.filter(team_key=fresh).values_list("user", flat=True)) == {nora.pk}
    assert not TeamKeyGrant.objects.filter(user=jonas).exists()
    colleague.goto(f"/conversations/{conversation.public_id}/")
    expect(colleague.locator("#messages")).to_contain_text(MARKERS[3], timeout=15000)

    # The server holds ciphertext only: no marker in any table, nor in the database file.
    assert Message.objects.filter(conversation=conversation, nonce__isnull=False).count() >= 4
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the database itself)
            dump = repr(cursor.fetchall())
            for marker in MARKERS:
                assert marker not in dump, (marker, table)
    if connection.vendor == "sqlite":
        name = connection.settings_dict["NAME"]
        for path in (name, f"{name}-wal"):
            if not Path(path).exists():
                continue
            data = Path(path).read_bytes()
            for marker in MARKERS:
                assert marker.encode() not in data, (marker, path)
    for page in (client, counselor, colleague, other_device):
        assert not page.problems, page.problems  # type: ignore[attr-defined]
        page.context.close()
