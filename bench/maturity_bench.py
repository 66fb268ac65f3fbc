"""Digital self-check: how long a scripted respondent needs to finish the check through the pages,
and the result page (with its three peer benchmarks) when 2,000 organizations have results.

    .venv/bin/python bench/maturity_bench.py [ORGANIZATIONS] [RUNS]     # default 2000 20

Uses a throw-away SQLite file, or DATABASE_URL when set (the database must be empty or
throw-away). A "scripted run" is one respondent opening every statement page and saving an
answer (GET + POST per statement, through Django's test client with sessions, CSRF-free client,
access checks and templates), then finishing: the server's share of the time it takes to fill in
the check, without a person's reading time. Prints figures; asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from benchsetup import percentile, setup_django


def main() -> None:
    organizations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    setup_django()
    from allauth.mfa.totp.internal.auth import TOTP
    from django.core import signals
    from django.db import close_old_connections, connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wegweiser.accounts.models import User
    from wegweiser.maturity import actions, questionnaire
    from wegweiser.maturity.models import Check, SizeBand
    from wegweiser.organizations import actions as org
    from wegweiser.organizations.models import NodeKind, Role

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    rng = random.Random(20261203)
    q = questionnaire.current()
    fed = org.federation_create(actor=None, name="Bench-Verband")
    regions = [org.node_create(actor=None, parent=fed, name=f"Region {r}", kind=NodeKind.REGION)
               for r in range(8)]
    started = time.perf_counter()
    units = []
    with transaction.atomic():
        for i in range(organizations):
            units.append(org.node_create(actor=None, parent=regions[i % len(regions)], name=f"Einheit {i}",
                                         kind=NodeKind.AGENCY))
        now = timezone.now()
        Check.objects.bulk_create([
            Check(organization=unit, federation_path=fed.path, region_path=unit.path[:fed.steplen * 2],
                  size_band=rng.choice(SizeBand.values), questionnaire=q.version, closed_at=now,
                  scores={d: rng.randint(0, 100) for d in questionnaire.DIMENSIONS},
                  overall=rng.randint(0, 100))
            for unit in units[1:]], batch_size=1000)
    print(f"{connection.vendor}: {organizations:,} organizations with a closed self-check seeded in "
          f"{time.perf_counter() - started:.1f} s; {len(q.statements)} statements")

    lead = User.objects.create_user(username="bench-lead", password="x" * 20, kind="staff")
    TOTP.activate(lead, "JBSWY3DPEHPK3PXPBENCHBENCHBENCH2")
    org.membership_create(actor=None, node=units[0], user=lead, role=Role.AGENCY_LEAD)
    check = actions.check_start(actor=lead, organization=units[0], size_band="10-49")
    token = actions.invite_create(actor=lead, check=check)
    durations = []
    for run in range(runs):
        user = User.objects.create_user(username=f"bench-colleague-{run}", password="x" * 20, kind="staff")
        TOTP.activate(user, "JBSWY3DPEHPK3PXPBENCHBENCHBENCH2")
        org.membership_create(actor=None, node=units[0], user=user, role=Role.STAFF)
        client = Client()
        client.force_login(user)
        t0 = time.perf_counter()
        client.post(f"/maturity/join/{token}/")
        for number in range(1, len(q.statements) + 1):
            url = f"/maturity/checks/{check.public_id}/q/{number}/"
            client.get(url)
            response = client.post(url, {"value": str(rng.choice([0, 1, 2, 3, 4]))})
            assert response.status_code == 302, response.status_code
        client.post(f"/maturity/checks/{check.public_id}/finish/")
        durations.append(time.perf_counter() - t0)
    print(f"scripted run ({runs} respondents, each {len(q.statements)} statements, GET + POST each): "
          f"median {statistics.median(durations):.2f} s, slowest {max(durations):.2f} s to finish")

    client = Client()
    client.force_login(lead)
    url = f"/maturity/checks/{check.public_id}/results/"
    assert client.get(url).status_code == 200
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = (queries.final_queries or 0) - queries.initial_queries
    timings = []
    for _ in range(100):
        t0 = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - t0) * 1000)
    print(f"result page with benchmarks over {organizations - 1:,} peers and {runs + 1} respondents: "
          f"p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, {count} queries")


if __name__ == "__main__":
    main()
