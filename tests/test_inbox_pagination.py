"""Keyset pagination of the counselor inbox and of a client's own list (core.pagination): every
conversation once and in order, also when timestamps tie; Previous walks the same pages back;
cursors are opaque, carry no primary key, and a bad one gives the first page; the number of
queries does not grow with the page; the username search pages with its query."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import make_staff
from wegweiser.accounts.models import User
from wegweiser.core.pagination import PAGE_SIZE, keyset_page
from wegweiser.counseling import selectors
from wegweiser.counseling.models import Conversation, ConversationState
from wegweiser.organizations.models import Role

pytestmark = pytest.mark.django_db

ROW = re.compile(r'href="/conversations/([0-9a-f-]{36})/"')


def rows(page: Any) -> list[str]:
    return ROW.findall(page.text)


def link(page: Any, rel: str) -> str | None:
    found = re.search(rf'href="(\?[^"]*)" rel="{rel}"', page.text)
    return html.unescape(found.group(1)) if found else None


def page_number(page: Any) -> int:
    found = re.search(r'aria-current="page">\D*(\d+)<', page.text)
    return int(found.group(1)) if found else 1


def walk(client: Any, path: str, start: str, rel: str = "next") -> list[Any]:
    """Every page from ``start`` on, following ``rel`` links; fails on a loop."""
    pages = [client.get(path + start)]
    while (target := link(pages[-1], rel)) is not None:
        assert len(pages) < 50, "the links go round in circles"
        pages.append(client.get(path + target))
    assert all(page.status_code == 200 for page in pages)
    return pages


def make_conversations(counseling: SimpleNamespace, *, prefix: str, count: int,
                       **fields: Any) -> list[Conversation]:
    """``count`` conversations of new clients; last messages (and creation times) three to a
    minute, so that every page boundary falls among equal timestamps somewhere."""
    now = timezone.now()
    clients = User.objects.bulk_create(
        [User(username=f"{prefix}-{i:03d}", kind=User.Kind.CLIENT, password="!") for i in range(count)])
    made = Conversation.objects.bulk_create(
        Conversation(agency=counseling.agency_a, topic=counseling.topic, client=client, last_seq=1,
                     last_message_at=now - timedelta(minutes=i // 3), **fields)
        for i, client in enumerate(clients))
    for i, conversation in enumerate(made):
        Conversation.objects.filter(pk=conversation.pk).update(
            created_at=now - timedelta(days=1) + timedelta(minutes=i // 3))
    return made


def ids(qs: Any) -> list[str]:
    return [str(public_id) for public_id in qs.values_list("public_id", flat=True)]


@pytest.fixture
def lists(counseling: SimpleNamespace, jonas: User) -> SimpleNamespace:
    """Jonas's four lists, each longer than two pages (61 in "mine" with mia's)."""
    carla = make_staff("carla", [(counseling.agency_a.node, Role.COUNSELOR)])
    make_conversations(counseling, prefix="mine", count=60, status="active", counselor=jonas)
    make_conversations(counseling, prefix="open", count=55, status="open")
    make_conversations(counseling, prefix="team", count=52, status="active", counselor=carla, team=True)
    archived = make_conversations(counseling, prefix="old", count=51, status="closed", counselor=jonas)
    ConversationState.objects.bulk_create(ConversationState(conversation=c, user=jonas, archived=True)
                                          for c in archived)
    newest_first = Conversation.objects.order_by("-last_message_at", "-pk")
    archived_pks = [c.pk for c in archived]
    return SimpleNamespace(
        enquiries=ids(Conversation.objects.filter(status="open").order_by("created_at", "pk")),
        mine=ids(newest_first.filter(counselor=jonas).exclude(pk__in=archived_pks)),
        team=ids(newest_first.filter(team=True)),
        archived=ids(newest_first.filter(pk__in=archived_pks)),
    )


@pytest.mark.parametrize("tab", ["enquiries", "mine", "team", "archived"])
def test_walking_forward_lists_every_conversation_once_in_order(lists: SimpleNamespace, jonas: User,
                                                                 client_for: Any, tab: str) -> None:
    pages = walk(client_for(jonas), "/inbox/", f"?tab={tab}")
    expected = getattr(lists, tab)
    assert len(expected) > 2 * PAGE_SIZE and len(pages) == 3
    assert [row for page in pages for row in rows(page)] == expected
    assert [page_number(page) for page in pages] == [1, 2, 3]
    assert all(len(rows(page)) == PAGE_SIZE for page in pages[:-1])


@pytest.mark.parametrize("tab", ["enquiries", "mine"])
def test_previous_walks_back_through_the_same_pages(lists: SimpleNamespace, jonas: User, client_for: Any,
                                                    tab: str) -> None:
    client = client_for(jonas)
    forward = walk(client, "/inbox/", f"?tab={tab}")
    backward = walk(client, "/inbox/", link(forward[-2], "next") or "", rel="prev")
    assert [rows(page) for page in reversed(backward)] == [rows(page) for page in forward]
    assert [page_number(page) for page in reversed(backward)] == [1, 2, 3]
    assert link(backward[-1], "prev") is None  # back on page 1, which has no Previous
    # And forward again from a page reached backwards.
    assert rows(client.get("/inbox/" + (link(backward[1], "next") or ""))) == rows(forward[2])


def test_a_deep_page_links_to_page_1_with_an_existing_string(lists: SimpleNamespace, jonas: User,
                                                             client_for: Any) -> None:
    pages = walk(client_for(jonas), "/inbox/", "?tab=mine")
    to_first = re.compile(r'<a href="\?tab=mine">([^<]*)</a>')
    found = to_first.search(pages[2].text)
    assert found is not None and found.group(1) == "Seite 1"  # "Page %(n)s", already translated
    assert to_first.search(pages[1].text) is None  # on page 2, Previous is the way to page 1


@pytest.mark.parametrize("cursor", [
    "garbage", "", "a" * 5000, "eyJ0IjoxfQ:1abc:forged",
])
def test_a_garbled_cursor_gives_the_first_page(lists: SimpleNamespace, jonas: User, client_for: Any,
                                               cursor: str) -> None:
    page = client_for(jonas).get("/inbox/", {"tab": "mine", "cursor": cursor})
    assert page.status_code == 200 and rows(page) == lists.mine[:PAGE_SIZE] and page_number(page) == 1


def test_a_tampered_or_foreign_cursor_gives_the_first_page(lists: SimpleNamespace, jonas: User,
                                                           client_for: Any) -> None:
    client = client_for(jonas)
    cursor = parse_qs(urlsplit(link(client.get("/inbox/?tab=mine"), "next") or "").query)["cursor"][0]
    payload, rest = cursor.split(":", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["n"] = 99
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=") + ":" + rest
    flipped = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    for tab, bad in (("mine", forged), ("mine", flipped), ("enquiries", cursor), ("team", cursor)):
        page = client.get("/inbox/", {"tab": tab, "cursor": bad})
        assert page.status_code == 200 and rows(page) == getattr(lists, tab)[:PAGE_SIZE]
    # The page numbers of before keyset pagination are ignored as well.
    assert rows(client.get("/inbox/?tab=mine&page=3")) == lists.mine[:PAGE_SIZE]


def test_the_cursor_holds_a_timestamp_and_a_public_id_not_a_primary_key(lists: SimpleNamespace, jonas: User,
                                                                        client_for: Any) -> None:
    first = client_for(jonas).get("/inbox/?tab=mine")
    cursor = parse_qs(urlsplit(link(first, "next") or "").query)["cursor"][0]
    payload = cursor.split(":", 1)[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    last = Conversation.objects.get(public_id=rows(first)[-1])
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert data == {"t": (last.last_message_at - epoch) // timedelta(microseconds=1),
                    "c": last.public_id.hex, "d": "n", "n": 2}


def test_the_next_page_survives_the_deletion_of_its_anchor(lists: SimpleNamespace, jonas: User,
                                                           client_for: Any) -> None:
    """The cursor's row is gone (purged, erased): the rest of the list still follows. Rows that
    shared its timestamp may show twice, but none is lost."""
    client = client_for(jonas)
    first = client.get("/inbox/?tab=mine")
    gone = rows(first)[-1]
    Conversation.objects.filter(public_id=gone).delete()
    rest = walk(client, "/inbox/", link(first, "next") or "")
    seen = rows(first)[:-1] + [row for page in rest for row in rows(page)]
    assert set(seen) == set(lists.mine) - {gone}
    assert seen[-PAGE_SIZE:] == lists.mine[-PAGE_SIZE:]


def test_an_emptied_page_falls_back_to_the_first(lists: SimpleNamespace, jonas: User,
                                                 client_for: Any) -> None:
    client = client_for(jonas)
    pages = walk(client, "/inbox/", "?tab=mine")
    Conversation.objects.filter(public_id__in=rows(pages[2])).delete()
    page = client.get("/inbox/" + (link(pages[1], "next") or ""))
    assert page.status_code == 200 and rows(page) == lists.mine[:PAGE_SIZE] and page_number(page) == 1


def test_the_number_of_queries_does_not_grow_with_the_page(lists: SimpleNamespace, jonas: User,
                                                           client_for: Any) -> None:
    client = client_for(jonas)
    for start in ("?tab=mine", "?tab=enquiries", "?tab=archived", "?tab=mine&q=mine-0"):
        pages = walk(client, "/inbox/", start)
        counts = []
        for page in pages:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(page.request["PATH_INFO"] + "?" + page.request["QUERY_STRING"]) \
                    .status_code == 200
            counts.append(len(queries))
        assert len(counts) >= 2 and len(set(counts)) == 1, (start, counts)


def test_search_finds_part_of_a_username_in_any_case_and_pages_keep_the_query(
    counseling: SimpleNamespace, jonas: User, client_for: Any,
) -> None:
    make_conversations(counseling, prefix="Anna-ALPHA", count=30, status="active", counselor=jonas)
    make_conversations(counseling, prefix="bert", count=30, status="active", counselor=jonas)
    client = client_for(jonas)
    pages = walk(client, "/inbox/", "?tab=mine&q=pHa-0")
    expected = ids(Conversation.objects.filter(client__username__startswith="Anna-ALPHA")
                   .order_by("-last_message_at", "-pk"))
    assert len(pages) == 2 and [row for page in pages for row in rows(page)] == expected
    target = parse_qs(urlsplit(link(pages[0], "next") or "").query)
    assert target["q"] == ["pHa-0"] and target["tab"] == ["mine"]
    assert 'value="pHa-0"' in pages[1].text
    assert rows(client.get("/inbox/?tab=mine&q=nobody")) == []


def test_search_with_many_matching_users_gives_the_same_result(
    counseling: SimpleNamespace, jonas: User, client_for: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_conversations(counseling, prefix="Anna-ALPHA", count=30, status="active", counselor=jonas)
    make_conversations(counseling, prefix="bert", count=30, status="active", counselor=jonas)
    client = client_for(jonas)
    few = [rows(page) for page in walk(client, "/inbox/", "?tab=mine&q=alpha")]
    monkeypatch.setattr(selectors, "SEARCH_IDS_MAX", 5)  # more match than go into a list
    many = [rows(page) for page in walk(client, "/inbox/", "?tab=mine&q=alpha")]
    assert many == few and sum(map(len, few)) == 30


def test_search_query_is_urlencoded_in_the_links_and_capped(counseling: SimpleNamespace, jonas: User,
                                                            client_for: Any) -> None:
    make_conversations(counseling, prefix="a&b c", count=30, status="active", counselor=jonas)
    client = client_for(jonas)
    first = client.get("/inbox/", {"tab": "mine", "q": "a&b c"})
    assert len(rows(first)) == PAGE_SIZE
    assert "q=a%26b+c" in (link(first, "next") or "")
    assert len(rows(client.get("/inbox/" + (link(first, "next") or "")))) == 5
    long = client.get("/inbox/", {"tab": "mine", "q": "a&b c" + "x" * 200})
    assert long.status_code == 200 and 'maxlength="150"' in long.text


def test_a_clients_own_list_pages_the_same_way(counseling: SimpleNamespace, mia: User, jonas: User,
                                               client_for: Any) -> None:
    now = timezone.now()
    Conversation.objects.bulk_create(
        Conversation(agency=counseling.agency_a, topic=counseling.topic, client=mia, status="closed",
                     counselor=jonas, last_seq=1, last_message_at=now - timedelta(hours=i // 4))
        for i in range(40))
    client = client_for(mia)
    pages = walk(client, "/conversations/", "")
    expected = ids(Conversation.objects.filter(client=mia).order_by("-last_message_at", "-pk"))
    assert len(pages) == 2 and [row for page in pages for row in rows(page)] == expected
    back = walk(client, "/conversations/", link(pages[0], "next") or "", rel="prev")
    assert rows(back[-1]) == rows(pages[0])
    # The client list's cursors are its own: on the inbox they are ignored.
    cursor = parse_qs(urlsplit(link(pages[0], "next") or "").query)["cursor"][0]
    inbox = client_for(jonas).get("/inbox/", {"tab": "mine", "cursor": cursor})
    assert rows(inbox) == expected[:PAGE_SIZE] and page_number(inbox) == 1


def test_keyset_page_refuses_an_order_it_cannot_page(counseling: SimpleNamespace) -> None:
    for qs in (Conversation.objects.order_by("pk"), Conversation.objects.order_by("-closed_at", "-pk"),
               Conversation.objects.order_by("created_at", "-pk"), Conversation.objects.all()):
        with pytest.raises(ValueError, match="keyset_page"):
            keyset_page(qs, cursor=None, salt="test")
