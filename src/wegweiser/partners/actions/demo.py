"""Demo partners: fictional providers and freelancers, every name ending in "(Demo)", websites and
addresses under the reserved ``.example`` domain. Idempotent: entries that exist (by name) are kept
as they are, so running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from wegweiser.partners.actions.directory import partner_create, partner_member_add
from wegweiser.partners.models import Partner, PartnerMember

DEMO_PARTNERS: list[dict[str, Any]] = [
    {
        "name": "Nordlicht IT-Service (Demo)",
        "kind": Partner.Kind.PROVIDER,
        "specialties": ["it", "data_protection"],
        "regions": ["DE-SH", "DE-HH", "DE-MV"],
        "description": "Fiktiver IT-Dienstleister: Netzwerke, Arbeitsplätze und Datensicherung für "
        "Beratungsstellen. Keine echte Firma.",
    },
    {
        "name": "Datenschutz mit Augenmaß (Demo)",
        "kind": Partner.Kind.FREELANCER,
        "specialties": ["data_protection", "training"],
        "regions": ["DE", "remote"],
        "description": "Fiktive externe Datenschutzbeauftragte: Verzeichnis der Verarbeitungen, "
        "Schulungen für Beratungsteams. Keine echte Person.",
    },
    {
        "name": "Webwerkstatt Süd (Demo)",
        "kind": Partner.Kind.PROVIDER,
        "specialties": ["web", "accessibility"],
        "regions": ["DE-BY", "DE-BW"],
        "description": "Fiktive Agentur für barrierefreie Websites von Wohlfahrtsverbänden. "
        "Keine echte Firma.",
    },
    {
        "name": "Lernpfad Weiterbildung (Demo)",
        "kind": Partner.Kind.PROVIDER,
        "specialties": ["training", "counseling_tools"],
        "regions": ["remote"],
        "description": "Fiktiver Anbieter von Online-Schulungen zu digitaler Beratung. Keine echte Firma.",
    },
    {
        "name": "Fördermittel-Lotsin (Demo)",
        "kind": Partner.Kind.FREELANCER,
        "specialties": ["funding", "organization"],
        "regions": ["DE-SH", "DE-NI", "DE-HB"],
        "description": "Fiktive Beraterin für Förderanträge und Projektplanung. Keine echte Person.",
    },
    {
        "name": "Chatbrücke Beratungssoftware (Demo)",
        "kind": Partner.Kind.PROVIDER,
        "specialties": ["counseling_tools", "it", "data_protection"],
        "regions": ["DE", "SE"],
        "description": "Fiktiver Hersteller einer Software für Online-Beratung. Keine echte Firma.",
    },
    {
        "name": "Skåne Digital Stöd (Demo)",
        "kind": Partner.Kind.PROVIDER,
        "specialties": ["it", "web"],
        "regions": ["SE-M", "SE-N"],
        "description": "Fiktiv IT-leverantör för ideella organisationer i Skåne. Inget riktigt företag.",
    },
    {
        "name": "Tillgänglighetskonsult Lind (Demo)",
        "kind": Partner.Kind.FREELANCER,
        "specialties": ["accessibility", "training", "web"],
        "regions": ["SE", "remote"],
        "description": "Fiktiv konsult för tillgänglighet och utbildning. Ingen riktig person.",
    },
]


def _site(name: str) -> str:
    slug = "".join(ch for ch in name.lower().replace("(demo)", "") if ch.isascii() and ch.isalnum())
    return slug[:40] or "partner"


def partners_demo(*, actor: Any = None, login: Any = None) -> list[Partner]:
    """Create the demo partners that are missing; with ``login`` (a staff-kind account without any
    membership) that account becomes the login of the first demo partner, unless it already is a
    partner's login."""
    partners = []
    with transaction.atomic():
        for entry in DEMO_PARTNERS:
            partner = Partner.objects.filter(name=entry["name"]).first()
            if partner is None:
                slug = _site(entry["name"])
                partner = partner_create(
                    actor=actor,
                    website=f"https://{slug}.example",
                    email=f"kontakt@{slug}.example",
                    **entry,
                )
            partners.append(partner)
        if login is not None and not PartnerMember.objects.filter(user=login).exists():
            partner_member_add(actor=actor, partner=partners[0], username=login.get_username())
    return partners
