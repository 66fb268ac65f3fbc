"""Which partners fit a request, best first, and why.

A partner is offered for a request when it shares at least one specialty with it AND covers its
region. Ranking: more shared specialties first; among equals the closer region fit (the region
itself, then the whole country — "nationwide" —, then remote work); then by name. A partner that
works only in other regions is not offered: a local provider elsewhere is no help.

Region fit for a request's region ``r``:
- the partner lists ``r`` → IN_REGION (a request for ``DE`` is met by partners listing ``DE``);
- the partner lists the country of ``r`` (``DE`` for ``DE-SH``) → NATIONWIDE;
- the partner lists ``remote`` → REMOTE (a request for ``remote`` is met only this way).

Pure functions over anything with ``name``, ``specialties`` and ``regions`` (the tests pass plain
objects). At most ``MATCH_LIMIT`` matches are offered, and only offered partners may be addressed
(``actions.requests.partner_request_address`` recomputes them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from django.utils.translation import gettext as _

from wegweiser.partners.models import COUNTRY_LABELS, REMOTE, Specialty, region_country, region_label

MATCH_LIMIT = 25


class RegionFit(IntEnum):
    NONE = 0
    REMOTE = 1
    NATIONWIDE = 2
    IN_REGION = 3


def region_fit(partner_regions: Iterable[str], wanted: str) -> RegionFit:
    regions = set(partner_regions)
    if wanted in regions:
        return RegionFit.IN_REGION
    country = region_country(wanted)
    if country and country != wanted and country in regions:
        return RegionFit.NATIONWIDE
    if REMOTE in regions:
        return RegionFit.REMOTE
    return RegionFit.NONE


@dataclass(frozen=True)
class Match:
    partner: Any
    shared: tuple[str, ...]  # specialty codes, in the order of Specialty
    fit: RegionFit
    wanted_region: str
    wanted_count: int

    @property
    def shared_labels(self) -> list[str]:
        labels = dict(Specialty.choices)
        return [str(labels[code]) for code in self.shared]

    @property
    def region_reason(self) -> str:
        if self.fit == RegionFit.IN_REGION:
            return _("works in %(region)s") % {"region": region_label(self.wanted_region)}
        if self.fit == RegionFit.NATIONWIDE:
            country = COUNTRY_LABELS.get(region_country(self.wanted_region), "")
            return _("works nationwide in %(country)s") % {"country": country}
        return _("works remotely")

    @property
    def reason(self) -> str:
        """One line for the requester: what fits and where."""
        return _("%(count)s of %(wanted)s specialties (%(labels)s); %(region)s") % {
            "count": len(self.shared),
            "wanted": self.wanted_count,
            "labels": ", ".join(self.shared_labels),
            "region": self.region_reason,
        }


def rank(partners: Iterable[Any], specialties: Sequence[str], region: str,
         *, limit: int = MATCH_LIMIT) -> list[Match]:
    """The partners offered for a request with these specialties and this region, best first."""
    order = [code for code in Specialty.values if code in set(specialties)]
    matches = []
    for partner in partners:
        offered = set(partner.specialties)
        shared = tuple(code for code in order if code in offered)
        if not shared:
            continue
        fit = region_fit(partner.regions, region)
        if fit == RegionFit.NONE:
            continue
        matches.append(
            Match(partner=partner, shared=shared, fit=fit, wanted_region=region, wanted_count=len(order))
        )
    matches.sort(key=lambda m: (-len(m.shared), -m.fit, str(m.partner.name).casefold()))
    return matches[:limit]
