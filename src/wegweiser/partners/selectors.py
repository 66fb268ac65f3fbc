"""Reads of the partner directory. The directory is small and shared (see models), so one query
loads the entries and the filters run in Python over the JSON lists."""

from __future__ import annotations

from dataclasses import dataclass

from wegweiser.partners.matching import Match, RegionFit, rank, region_fit
from wegweiser.partners.models import Partner, PartnerRequest


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    specialty: str = ""
    region: str = ""
    kind: str = ""

    def keep(self, partner: Partner) -> bool:
        if self.q and self.q.casefold() not in f"{partner.name} {partner.description}".casefold():
            return False
        if self.specialty and self.specialty not in partner.specialties:
            return False
        if self.region and region_fit(partner.regions, self.region) == RegionFit.NONE:
            return False
        return not (self.kind and partner.kind != self.kind)


def partner_list_for_directory(filters: DirectoryFilters, *, include_inactive: bool = False) -> list[Partner]:
    partners = Partner.objects.all() if include_inactive else Partner.objects.filter(is_active=True)
    return [partner for partner in partners.order_by("name", "id") if filters.keep(partner)]


def offered_matches(partner_request: PartnerRequest) -> list[Match]:
    """The partners offered for the request right now (active ones only), best first."""
    return rank(Partner.objects.filter(is_active=True), partner_request.specialties, partner_request.region)
