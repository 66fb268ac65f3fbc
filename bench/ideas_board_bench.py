"""Needs & ideas at federation scale: the board page (and its filters), an item page, the
federation overview and its CSV, and the duplicate hint while typing, with 10,000 items.

    .venv/bin/python bench/ideas_board_bench.py [ITEMS] [REQUESTS]     # default 10000 200

Uses a throw-away SQLite file, or DATABASE_URL when set (the database must be empty or
throw-away). Items are bulk-inserted over 3 regions with 4 branches each, all stages, 11 fields,
with supports and stage history; then the pages are requested through Django's test client as a
logged-in staff member with TOTP (the whole request: middleware, access checks, template).
Prints p50/p95 and the number of SQL queries per page; asserts nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time

from benchsetup import percentile, setup_django


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    setup_django()
    from allauth.mfa.totp.internal.auth import TOTP
    from django.core import signals
    from django.db import close_old_connections, connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wegweiser.accounts.models import User
    from wegweiser.ideas import actions
    from wegweiser.ideas.models import FieldOfWork, Item, StageChange, Support
    from wegweiser.organizations import actions as org
    from wegweiser.organizations.models import NodeKind, Role

    rng = random.Random(20261203)
    fed = org.federation_create(actor=None, name="Bench-Verband")
    branches = []
    for r in range(3):
        region = org.node_create(actor=None, parent=fed, name=f"Region {r}", kind=NodeKind.REGION)
        branches += [
            org.node_create(actor=None, parent=region, name=f"Kreisverband {r}.{b}", kind=NodeKind.BRANCH)
            for b in range(4)
        ]
    staff = User.objects.bulk_create(
        [
            User(username=f"staff-{i:04d}", kind="staff", password="!")  # noqa: S106
            for i in range(300)
        ]
    )
    for i, user in enumerate(staff[:50]):
        org.membership_create(actor=None, node=branches[i % len(branches)], user=user, role=Role.STAFF)
    viewer = staff[0]
    TOTP.activate(viewer, "JBSWY3DPEHPK3PXPBENCHBENCHBENCH2")
    stages = actions.stages_ensure(federation=fed)
    vocabulary = ("Einsamkeit Senioren Besuchsdienst Kita Dienstplan digital Ehrenamt Fahrdienst Jugendtreff "
                  "Beratung Termine online Schulung Datenschutz Tablet Videoberatung Pflege Angehörige "
                  "Wohnen Schulden Sprachkurs Integration Sport Gesundheit Ernährung Nachbarschaft "
                  "Telefonkette")
    words = vocabulary.split()
    now = timezone.now()
    started = time.perf_counter()
    weights = [30, 15, 10, 8, 6, 5, 10, 8, 5, 3]
    items = []
    for _ in range(total):
        branch = rng.choice(branches)
        stage = rng.choices(stages, weights)[0]
        created = now - dt.timedelta(days=rng.randint(0, 700))
        items.append(
            Item(
                federation=fed,
                branch=branch,
                author=rng.choice(staff),  # created_at: below
                kind=rng.choice(["need", "idea"]),
                title=" ".join(rng.sample(words, 5)),
                problem=" ".join(rng.sample(words, 15)),
                field=rng.choice(FieldOfWork.values),
                stage=stage,
                stage_changed_at=created + dt.timedelta(days=rng.randint(0, 30)),
                support_count=0,
            )
        )
    Item.objects.bulk_create(items, batch_size=2000)
    rows = list(Item.objects.filter(federation=fed).values_list("pk", "stage_id"))
    with transaction.atomic():  # auto_now_add set every age to now: spread them
        for pk, _stage in rows:
            Item.objects.filter(pk=pk).update(created_at=now - dt.timedelta(days=rng.randint(0, 700)))
    supports, changes = [], []
    for pk, stage_id in rows:
        for user in rng.sample(staff, rng.choice([0, 0, 1, 2, 5, 12])):
            supports.append(Support(item_id=pk, user=user, branch=rng.choice(branches)))
        if stage_id != stages[0].pk:
            changes.append(
                StageChange(
                    item_id=pk,
                    from_stage=stages[0],
                    to_stage_id=stage_id,
                    answer="Antwort",
                    created_at=now - dt.timedelta(days=rng.randint(0, 300)),
                )
            )
    Support.objects.bulk_create(supports, batch_size=5000)
    StageChange.objects.bulk_create(changes, batch_size=5000)
    counts: dict[int, int] = {}
    for support in supports:
        counts[support.item_id] = counts.get(support.item_id, 0) + 1
    with transaction.atomic():
        for pk, n in counts.items():
            Item.objects.filter(pk=pk).update(support_count=n)
    print(
        f"{connection.vendor}: seeded {total:,} items, {len(supports):,} supports, {len(changes):,} stage "
        f"changes in {time.perf_counter() - started:.1f} s"
    )

    # Keep one connection across requests (as CONN_MAX_AGE does in production), so the queries of
    # a request can be counted.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    client = Client()
    client.force_login(viewer)
    one = Item.objects.filter(federation=fed).order_by("-support_count").first()
    assert one is not None
    board = f"/ideas/f/{fed.public_id}/"
    pages = [
        ("board", board),
        ("board, field + age filter", board + "?field=elderly_care&age=older90"),
        ("board, one branch", board + f"?branch={branches[5].public_id}"),
        ("board, one stage (list, page 3)", board + f"?stage={stages[1].public_id}&page=3"),
        ("item page", f"/ideas/items/{one.public_id}/"),
        ("duplicate hint", f"/ideas/f/{fed.public_id}/similar/?title=Besuchsdienst+für+einsame+Senioren"),
    ]
    for label, url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        connection.queries_log.clear()  # a full log (it keeps 9,000) would count nothing
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        count = (queries.final_queries or 0) - queries.initial_queries
        timings = []
        for _ in range(requests):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"{label:34s} p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, 0.95):6.1f} ms  "
            f"{count} queries"
        )
    # The overview and the export need the competence centre's role.
    org.membership_create(actor=None, node=fed, user=viewer, role=Role.INNOVATION)
    for label, url in (
        ("overview (triage)", f"/ideas/f/{fed.public_id}/overview/"),
        ("CSV export (triage)", f"/ideas/f/{fed.public_id}/overview.csv"),
    ):
        client = Client()
        client.force_login(viewer)
        client.get(url)
        timings = []
        for _ in range(max(5, requests // 20)):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"{label:34s} p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, 0.95):6.1f} ms"
        )


if __name__ == "__main__":
    main()
