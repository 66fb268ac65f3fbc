"""Shared set-up for the partner directory tests (plain functions; each test module wraps them in
fixtures). Besides the named people of conftest: pia logs in for Nordlicht IT (a staff-kind
account without any membership and without TOTP — partners need none), paul logs in for the
Webwerkstatt, and ayse (agency lead of agency A) has posted a request for IT and data protection
in Schleswig-Holstein."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.conftest import make_user
from wegweiser.partners import actions
from wegweiser.partners.models import Partner, PartnerRequest


def make_partner(name: str, specialties: list[str], regions: list[str], *,
                 kind: str = Partner.Kind.PROVIDER, active: bool = True) -> Partner:
    partner = actions.partner_create(actor=None, name=name, kind=kind, specialties=specialties,
                                     regions=regions, description=f"Beschreibung {name}",
                                     website="https://example.org", email="kontakt@example.org")
    if not active:
        Partner.objects.filter(pk=partner.pk).update(is_active=False)
        partner.refresh_from_db()
    return partner


def make_directory() -> SimpleNamespace:
    return SimpleNamespace(
        nordlicht=make_partner("Nordlicht IT", ["it", "data_protection"], ["DE-SH", "DE-HH"]),
        datenschutz=make_partner("Datenschutz Kern", ["data_protection", "training"], ["DE", "remote"],
                                 kind=Partner.Kind.FREELANCER),
        webwerk=make_partner("Webwerkstatt", ["web"], ["DE-BY"]),
        remote_it=make_partner("Fernwartung Plus", ["it"], ["remote"]),
        sweden=make_partner("Skåne Data", ["it", "web"], ["SE-M"]),
        retired=make_partner("Alte IT", ["it"], ["DE-SH"], active=False),
    )


def make_partner_login(username: str, partner: Partner) -> Any:
    user = make_user(username, mfa=False)
    actions.partner_member_add(actor=None, partner=partner, username=username)
    return user


def make_request(author: Any, unit: Any, **extra: Any) -> PartnerRequest:
    fields = {
        "title": "Neue Laptops und Datensicherung",
        "description": "Zwei Beratungsstellen brauchen neue Geräte und ein Backup-Konzept.",
        "specialties": ["it", "data_protection"],
        "region": "DE-SH",
        "budget_note": "bis 5.000 Euro",
        **extra,
    }
    return actions.partner_request_create(actor=author, organization=unit, **fields)
