"""Anonymous peer benchmarks: the medians of other organizations' latest closed self-checks in
the same federation, the same region, or the same size band. A group is shown only when at least
``MIN_PEERS`` organizations are in it (k-anonymity: nobody can read a single organization's scores
from a benchmark), and the figures never name anyone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _

from wegweiser.maturity.models import Check

MIN_PEERS = 5
GROUPS = (("federation", _("Same federation")), ("region", _("Same region")), ("size", _("Same size")))


@dataclass(frozen=True)
class Benchmark:
    key: str
    label: str
    peers: int
    medians: dict[str, int] | None  # None: fewer than MIN_PEERS, not shown

    @property
    def shown(self) -> bool:
        return self.medians is not None


def _group_filter(check: Check, key: str) -> Q:
    return {
        "federation": Q(federation_path=check.federation_path),
        "region": Q(region_path=check.region_path),
        "size": Q(size_band=check.size_band),
    }[key]


def latest_results(check: Check, key: str) -> list[dict[str, int]]:
    """The latest closed result of every other organization in the group (one query)."""
    rows = (
        Check.objects.filter(
            _group_filter(check, key), closed_at__isnull=False, questionnaire=check.questionnaire
        )
        .exclude(organization_id=check.organization_id)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("organization_id")],
                order_by=[F("closed_at").desc(), F("id").desc()],
            )
        )
        .filter(rank=1)
        .values_list("scores", flat=True)
    )
    return list(rows)


def benchmarks(check: Check) -> list[Benchmark]:
    out = []
    for key, label in GROUPS:
        results = latest_results(check, key)
        medians = None
        if len(results) >= MIN_PEERS:
            medians = {}
            for dimension in {d for r in results for d in r}:
                values = [r[dimension] for r in results if dimension in r]
                if len(values) >= MIN_PEERS:
                    medians[dimension] = round(statistics.median(values))
        out.append(Benchmark(key, str(label), len(results), medians))
    return out
