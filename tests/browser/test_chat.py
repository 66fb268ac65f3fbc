"""The whole counseling flow in two real browsers: a client registers and sends an enquiry, a
counselor with 2FA accepts, both chat live, and the client's reconnect after going offline
loses nothing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_login_and_language import log_in_with_totp
from tests.conftest import make_staff
from wegweiser.counseling.models import Agency, Conversation, Message, PostcodeRange, Topic
from wegweiser.organizations.models import Role


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[str]:
    """The real ASGI application (HTTP and WebSocket) under uvicorn, in a thread of this process
    so it shares the test database and the in-memory channel layer."""
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from wegweiser.asgi import application as wegweiser_app

    static_http = ASGIStaticFilesHandler(get_asgi_application())  # as live_server serves /static/

    async def application(scope: Any, receive: Any, send: Any) -> None:
        handler = static_http if scope["type"] == "http" else wegweiser_app
        await handler(scope, receive, send)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _context_page(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, locale="de-DE")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.problems = problems  # type: ignore[attr-defined]
    return page


def test_enquiry_accept_live_chat_and_reconnect(browser: Browser, asgi_server: str, tree: Any) -> None:
    topic = Topic.objects.create(organization=tree.fed, name="Schulden", welcome_message="Willkommen!")
    agency = Agency.objects.create(node=tree.agency_a)
    agency.topics.add(topic)
    PostcodeRange.objects.create(agency=agency, country="DE", start="24000", end="24999")
    make_staff("jonas", [(tree.agency_a, Role.COUNSELOR)])

    # The counselor has the inbox open before the enquiry exists: it appears without a reload.
    counselor = _context_page(browser, asgi_server)
    log_in_with_totp(counselor, "jonas")
    counselor.goto("/inbox/")
    expect(counselor.locator("tbody")).not_to_contain_text("sonnenblume24")

    client = _context_page(browser, asgi_server)
    client.goto("/counseling/")
    client.select_option("#id_topic", label="Schulden")
    client.fill("#id_postcode", "24103")
    client.get_by_role("button", name="Suchen").click()
    client.get_by_role("link", name="Dieser Beratungsstelle schreiben").click()
    expect(client.locator("#privacy-title")).to_be_visible()
    client.fill("#id_username", "sonnenblume24")
    client.fill("#id_password", "ein langes passwort fuer mich")
    client.fill("#id_body", "Ich habe Mietschulden.")
    client.check("#id_privacy")
    client.get_by_role("button", name="Anfrage senden").click()
    expect(client.locator("#messages")).to_contain_text("Ich habe Mietschulden.")
    expect(client.locator("#messages")).to_contain_text("Willkommen!")

    expect(counselor.locator("tbody")).to_contain_text("sonnenblume24")  # live, no reload
    expect(counselor.locator("#inbox-status")).not_to_be_empty()
    counselor.get_by_role("button", name="Annehmen").click()
    expect(counselor.locator("#chat.live")).to_be_visible()
    expect(client.locator("#chat.live")).to_be_visible()
    expect(client.locator("#messages")).to_contain_text("hat Ihre Anfrage übernommen")  # live notice

    counselor.fill("#id_body", "Guten Tag, wie hoch sind die Schulden?")
    counselor.get_by_role("button", name="Senden", exact=True).click()
    expect(client.locator("#messages")).to_contain_text("wie hoch sind die Schulden?")
    client.fill("#id_body", "Etwa 2.000 Euro.")
    client.get_by_role("button", name="Senden", exact=True).click()
    expect(counselor.locator("#messages")).to_contain_text("Etwa 2.000 Euro.")

    # The client goes offline, writes, and misses a message; after reconnecting nothing is lost.
    client.context.set_offline(True)
    expect(client.locator("#chat.live")).to_have_count(0)
    client.fill("#id_body", "Geschrieben ohne Netz.")
    client.get_by_role("button", name="Senden", exact=True).click()
    counselor.fill("#id_body", "Sind Sie noch da?")
    counselor.get_by_role("button", name="Senden", exact=True).click()
    time.sleep(0.5)
    expect(client.locator("#messages")).not_to_contain_text("Sind Sie noch da?")
    client.context.set_offline(False)
    expect(client.locator("#messages")).to_contain_text("Sind Sie noch da?")
    expect(counselor.locator("#messages")).to_contain_text("Geschrieben ohne Netz.")

    conversation = Conversation.objects.get(client__username="sonnenblume24")
    bodies = list(Message.objects.filter(conversation=conversation).values_list("body", flat=True))
    assert bodies.count("Geschrieben ohne Netz.") == 1
    seqs = list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    # Each side shows every message exactly once, in order.
    for page in (client, counselor):
        shown = [int(s) for s in page.locator("#messages li[data-seq]").evaluate_all(
            "items => items.map(i => i.dataset.seq)")]
        assert shown == seqs, (page, page.locator("#messages").inner_text())
        assert not page.problems  # type: ignore[attr-defined]

    # Logging out in another tab ends this tab's live connection at once, and it says so.
    other_tab = client.context.new_page()
    other_tab.goto(asgi_server + "/")
    other_tab.get_by_role("button", name="Abmelden").click()
    expect(client.locator("#chat.live")).to_have_count(0)
    expect(client.locator("#chat-status")).to_contain_text("Sitzung ist beendet")
    client.context.close()
    counselor.context.close()
