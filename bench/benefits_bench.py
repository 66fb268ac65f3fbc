"""Benefit applications: time from submission to automatic decision, decision-letter PDF time,
and the microsimulation over a caseload.

    .venv/bin/python bench/benefits_bench.py [SUBMISSIONS] [CASELOAD]   # default 200 100000

Uses a throw-away SQLite file, or DATABASE_URL when set (the database must be empty or
throw-away). Submissions go through ``application_submit`` as the page does: assessment with
explanation and parameter snapshot, policy check, automatic decision, audit entry, and after
commit the letter (WeasyPrint, encrypted) and the notification. The caseload for the
microsimulation is bulk-inserted (decided applications with stored requests); the figure is
``simulate_reform`` over it: reading the requests, building the tables, both runs, comparison.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from fractions import Fraction

from benchsetup import percentile, setup_django


def main() -> None:
    submissions = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    caseload = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    setup_django()

    from wegweiser.accounts.models import User
    from wegweiser.benefits import actions, letters, microsim
    from wegweiser.benefits.models import Application, Assessment, Decision
    from wegweiser.organizations import actions as org
    from wegweiser.organizations.models import NodeKind

    fed = org.federation_create(actor=None, name="Bench")
    node = org.node_create(actor=None, parent=fed, name="Socialtjänsten Bench", kind=NodeKind.AGENCY)
    office = actions.office_create(actor=None, node=node, ruleset="se.ekonomiskt_bistand",
                                   auto_enabled=True, auto_repeat_only=False, auto_require_receipts=False)
    rng = random.Random(20261203)

    def household() -> dict[str, object]:
        persons: list[dict[str, object]] = [{"id": "p1", "role": "adult", "age": rng.randint(20, 70),
                                             "income": {"salary_net": rng.choice([0, 0, 300000, 800000])}}]
        if rng.random() < 0.4:
            persons.append({"id": "p2", "role": "adult", "age": rng.randint(20, 70)})
        children = rng.choice([0, 0, 1, 2, 3])
        persons += [{"id": f"c{i}", "role": "child", "age": rng.randint(0, 17)} for i in range(children)]
        return {"persons": persons, "costs": {"housing": rng.randint(400000, 1000000),
                                              "household_electricity": rng.randint(0, 50000)},
                "benefits": {"child_allowance": 125000 * (len(persons) - 1)}}

    applicants = User.objects.bulk_create([
        User(username=f"bench-{i:06d}", kind="client", password="!")  # noqa: S106 (unusable)
        for i in range(submissions)])
    timings, automatic = [], 0
    for applicant in applicants:
        application = actions.application_start(applicant=applicant, office=office, month="2026-01",
                                                language="sv")
        actions.application_save(applicant=applicant, application=application, household=household())
        started = time.perf_counter()
        done = actions.application_submit(applicant=applicant, application=application)  # letter on commit
        timings.append((time.perf_counter() - started) * 1000)
        automatic += done.status == Application.Status.DECIDED
    print(f"submission → automatic decision (incl. letter), {submissions} submissions, "
          f"{automatic} automatic: "
          f"p50 {statistics.median(timings):.0f} ms, p95 {percentile(timings, 0.95):.0f} ms, "
          f"max {max(timings):.0f} ms")

    decisions = list(Decision.objects.select_related("application__office__node", "assessment")[:50])
    pdf_times = []
    for decision in decisions:
        started = time.perf_counter()
        letters.letter_pdf(decision)
        pdf_times.append((time.perf_counter() - started) * 1000)
    print(f"decision letter PDF (render only), {len(pdf_times)} letters: "
          f"p50 {statistics.median(pdf_times):.0f} ms, p95 {percentile(pdf_times, 0.95):.0f} ms")

    template = Assessment.objects.filter(application__status="decided").first()
    assert template is not None
    started = time.perf_counter()
    owners = User.objects.bulk_create([
        User(username=f"case-{i:07d}", kind="client", password="!")  # noqa: S106 (unusable)
        for i in range(caseload)], batch_size=5000)
    for offset in range(0, caseload, 5000):
        chunk = owners[offset:offset + 5000]
        apps = Application.objects.bulk_create([Application(office=office, applicant=u, month="2026-02",
                                                            status="decided") for u in chunk])
        assessments = Assessment.objects.bulk_create([Assessment(
            application=a, ruleset=template.ruleset, ruleset_version=template.ruleset_version,
            request={**template.request, "month": "2026-02", "household": household()}, snapshot={},
            result={}, amount=0) for a in apps])
        Decision.objects.bulk_create([Decision(application=a, assessment=s, amount=0)
                                      for a, s in zip(apps, assessments, strict=True)])
    print(f"(caseload of {caseload:,} decided households inserted in {time.perf_counter() - started:.0f} s)")
    for run in range(3):
        result = microsim.simulate_reform(office, "riksnorm.", Fraction(5), 1000)
        print(f"microsimulation +5 % riksnorm over {result['households']:,} households (run {run + 1}): "
              f"{result['seconds']:.2f} s; cost change {result['change'] / 100:,.0f} kr/month, "
              f"{result['better_off']:,} better off, {result['newly_entitled']:,} newly entitled")


if __name__ == "__main__":
    main()
