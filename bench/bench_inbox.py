"""Counselor inbox with many conversations: latency and number of queries per page.

    .venv/bin/python bench/bench_inbox.py [CONVERSATIONS]     # default 100000

Uses a throw-away SQLite file, or DATABASE_URL when set (the database must be empty or
throw-away: tables are created by migrate). Prints figures, asserts nothing.

The deep page is reached as a person would: by following "Next" from page 1, 199 times (the
lists are keyset-paginated, a page's address holds an opaque cursor, not a page number).
"""

from __future__ import annotations

import html
import re
import statistics
import sys
import time
from datetime import timedelta

from benchsetup import setup_django


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    setup_django()
    from allauth.mfa.totp.internal.auth import TOTP
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wegweiser.accounts.models import User
    from wegweiser.counseling.models import Agency, Conversation, ConversationState, Message, Topic
    from wegweiser.organizations import actions
    from wegweiser.organizations.models import NodeKind, Role

    fed = actions.federation_create(actor=None, name="Bench")
    node = actions.node_create(actor=None, parent=fed, name="Bench-Stelle", kind=NodeKind.AGENCY)
    topic = Topic.objects.create(organization=fed, name="Bench", postcode_required=False)
    agency = Agency.objects.create(node=node)
    agency.topics.add(topic)
    counselor = User.objects.create_user(username="bench-counselor", password="x" * 20, kind="staff")
    TOTP.activate(counselor, "JBSWY3DPEHPK3PXPBENCHBENCHBENCH2")
    actions.membership_create(actor=None, node=node, user=counselor, role=Role.COUNSELOR)

    started = time.perf_counter()
    clients = User.objects.bulk_create(
        [User(username=f"client-{i:06d}", kind="client", password="!")  # noqa: S106 - unusable
         for i in range(total // 10)])
    now = timezone.now()
    batch = 5000
    for offset in range(0, total, batch):
        rows = []
        for i in range(offset, min(offset + batch, total)):
            status = "open" if i % 20 == 0 else ("closed" if i % 7 == 0 else "active")
            rows.append(Conversation(agency=agency, topic=topic, client=clients[i % len(clients)],
                                     counselor=None if status == "open" else counselor, status=status,
                                     last_seq=3, last_message_at=now - timedelta(minutes=i)))
        created = Conversation.objects.bulk_create(rows)
        Message.objects.bulk_create(
            Message(conversation=c, seq=seq, sender=c.client, sender_role="client", body="x", sent_at=now)
            for c in created for seq in (1, 2, 3))
        ConversationState.objects.bulk_create(
            ConversationState(conversation=c, user=counselor, last_read_seq=1 + (c.pk % 3))
            for c in created if c.counselor_id)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum soon would after a bulk load; plans need it
    print(f"database: {connection.vendor}; seeded {total} conversations "
          f"({3 * total} messages) in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(counselor)
    deep = "/inbox/?tab=mine"
    for _ in range(199):
        response = client.get(deep)
        found = re.search(r'href="(\?[^"]*)" rel="next"', response.text)
        assert response.status_code == 200 and found, "no next page"
        deep = "/inbox/" + html.unescape(found.group(1))
    assert re.search(r'aria-current="page">\D*200<', client.get(deep).text), "not page 200"
    queries_per_page = {}
    for label, url in (("/inbox/?tab=enquiries", "/inbox/?tab=enquiries"),
                       ("/inbox/?tab=mine", "/inbox/?tab=mine"),
                       ("/inbox/?tab=mine, page 200", deep),
                       ("/inbox/?tab=mine&q=client-0001", "/inbox/?tab=mine&q=client-0001")):
        client.get(url)  # warm up
        timings = []
        for _ in range(50):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        queries_per_page[label] = len(queries)
        print(f"{label:<35} p50 {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  "
              f"queries {len(queries)}")
    first, last = queries_per_page["/inbox/?tab=mine"], queries_per_page["/inbox/?tab=mine, page 200"]
    print(f"queries per page: {first} on page 1, {last} on page 200 "
          f"({'constant' if first == last else 'NOT constant'}); the search adds one for the usernames")


if __name__ == "__main__":
    main()
